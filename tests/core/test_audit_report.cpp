// The audit report: audit_results.json in, a self-contained HTML page out. Bars carry the rates, tables the
// fields, the threshold colours providers, and malformed files fail naming the file, provider and field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "difr/audit_report.h"
#include "difr/error.h"
#include "xml_check.h"

namespace {

// Three providers as `difr audit` writes them, with today's string reference, the coming reference object,
// a null avg_margin, fields the report does not know, and a token-difr-only result (the five seed fields).
const char *kResults = R"({
  "honest": {"exact_match_rate": 0.9875, "avg_prob": 0.99, "avg_margin": 0.0123, "avg_logit_rank": 0.02,
    "avg_gumbel_rank": 0.025, "infinite_margin_rate": 0.0, "total_tokens": 480, "n_sequences": 12,
    "provider": "honest", "model": "smollm2-135m", "answered_by": "llama-server", "reference": "local:abc123",
    "n_prompts": 12, "skipped_sequences": 0, "n_truncated": 11, "avg_logprob": -0.25,
    "retokenization": {"sequences_compared": 12, "sequences_changed": 1, "sequence_change_rate": 0.0833,
                       "tokens_compared": 477, "tokens_changed": 7},
    "responses": {"reused": 0, "new": 12}, "reference_rows": {"reused": 0, "new": 12},
    "config": {"base_url": "http://127.0.0.1:8080/v1", "pin_provider": "", "max_tokens": 48,
      "sampling": {"temperature": 0.0, "top_k": -1, "top_p": 1.0, "seed": 42, "noise": "vllm"},
      "reference": "local:abc123", "engine": null, "store": "runs.sqlite"}},
  "impostor <q2_k>": {"exact_match_rate": 0.702, "avg_prob": 0.7, "avg_margin": 0.47, "avg_logit_rank": 0.5,
    "avg_gumbel_rank": null, "infinite_margin_rate": 0.0125, "total_tokens": 506, "n_sequences": 12,
    "model": "smollm2-135m", "answered_by": "DeepInfra",
    "reference": {"kind": "topk", "id": "fireworks_echo:https://f.example/v1 model=m k=5", "k": 5,
                  "wire": "fireworks_echo", "extra": [1, 2]},
    "cross_reference": {"kind": "topk", "exact_match_rate": 0.1},
    "retokenization": {"sequences_compared": 0, "sequences_changed": 0, "sequence_change_rate": null,
                       "tokens_compared": 0, "tokens_changed": 0},
    "config": {"base_url": "https://openrouter.ai/api/v1", "pin_provider": "deepinfra/fp8", "max_tokens": 48,
      "sampling": {"temperature": 0.0, "top_k": -1, "top_p": 1.0, "seed": 42, "noise": "vllm"}}},
  "seed-only": {"exact_match_rate": 0.95, "avg_prob": 0.5, "avg_margin": null, "total_tokens": 10,
    "n_sequences": 1}
})";

// The <svg>...</svg> parts of a page.
std::vector<std::string> svgs_of(const std::string &html) {
    std::vector<std::string> out;
    for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1))
        out.push_back(html.substr(p, html.find("</svg>", p) + 6 - p));
    return out;
}

// One attribute of every <rect class="bar">, in order.
std::vector<std::string> bar_attr(const std::string &svg, const std::string &attr) {
    std::vector<std::string> v;
    const std::regex tag(R"(<rect class="bar"[^>]*>)"), value(" " + attr + "=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
        std::smatch m;
        const std::string t = it->str();
        if (std::regex_search(t, m, value)) v.push_back(m[1]);
    }
    return v;
}

// The cells of the table row whose first cell is `first`, in the table that follows `after`.
std::vector<std::string> row_cells(const std::string &html, const std::string &after,
                                   const std::string &first) {
    const size_t from = html.find(after);
    if (from == std::string::npos) return {};
    const size_t row = html.find("<td>" + first + "</td>", from);
    if (row == std::string::npos) return {};
    const size_t end = html.find("</tr>", row);
    std::vector<std::string> cells;
    const std::regex cell("<td>(.*?)</td>");
    const std::string tr = html.substr(row, end - row);
    for (auto it = std::sregex_iterator(tr.begin(), tr.end(), cell); it != std::sregex_iterator(); ++it)
        cells.push_back((*it)[1]);
    return cells;
}

std::string render(const std::optional<double> &threshold) {
    difr::AuditReportOptions o;
    o.threshold = threshold;
    return difr::audit_report_html(difr::audit_report_parse(kResults, "runs/audit_results.json"), o);
}

TEST(AuditReport, ParsesFieldsInFileOrder) {
    const difr::AuditReport r = difr::audit_report_parse(kResults, "runs/audit_results.json");
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(r.entries[0].provider, "honest");
    EXPECT_EQ(r.entries[1].provider, "impostor <q2_k>");
    EXPECT_EQ(r.entries[2].provider, "seed-only");
    const difr::AuditReportEntry &h = r.entries[0], &i = r.entries[1], &s = r.entries[2];
    EXPECT_EQ(h.exact_match_rate, 0.9875);
    EXPECT_EQ(h.total_tokens, 480);
    EXPECT_EQ(h.n_truncated, 11);
    EXPECT_EQ(h.reference, "local:abc123");
    EXPECT_EQ(h.reference_detail, "");
    EXPECT_EQ(h.sampling, "temperature=0, top_k=-1, top_p=1, seed=42, noise=vllm");
    EXPECT_EQ(h.max_tokens, 48);
    EXPECT_EQ(h.endpoint, "http://127.0.0.1:8080/v1");
    ASSERT_TRUE(h.retokenization.has_value());
    EXPECT_EQ(h.retokenization->tokens_changed, 7);
    // The reference object: its id, and its other scalars as detail (the array is left out).
    EXPECT_EQ(i.reference, "fireworks_echo:https://f.example/v1 model=m k=5");
    EXPECT_EQ(i.reference_detail, "kind=topk, k=5, wire=fireworks_echo");
    EXPECT_EQ(i.endpoint, "https://openrouter.ai/api/v1 pinned to deepinfra/fp8");
    ASSERT_TRUE(i.avg_gumbel_rank.has_value());
    EXPECT_TRUE(std::isnan(*i.avg_gumbel_rank));  // null
    // token-difr's five fields alone are enough; null avg_margin is NaN, absent fields are empty.
    EXPECT_TRUE(std::isnan(s.avg_margin));
    EXPECT_FALSE(s.avg_logit_rank.has_value());
    EXPECT_FALSE(s.n_truncated.has_value());
    EXPECT_FALSE(s.retokenization.has_value());
    EXPECT_EQ(s.reference, "");
}

TEST(AuditReport, BarsCarryTheRatesAndMargins) {
    const std::string html = render(std::nullopt);
    const std::vector<std::string> svgs = svgs_of(html);
    ASSERT_EQ(svgs.size(), 2u);
    for (const std::string &svg : svgs) difr_test::expect_well_formed(svg);
    // Exact-match rate in percent, one bar per provider in file order.
    EXPECT_EQ(bar_attr(svgs[0], "data-value"), (std::vector<std::string>{"98.75", "70.2", "95"}));
    const std::vector<double> rates = {0.9875, 0.702, 0.95};
    const std::vector<std::string> values = bar_attr(svgs[0], "data-value");
    for (size_t k = 0; k < rates.size(); ++k) EXPECT_NEAR(std::stod(values[k]), 100 * rates[k], 1e-9);
    // The rate axis is 0..100 whatever the data: the 95% bar is 0.95 of the 98.75% bar's height over 98.75.
    const std::vector<std::string> h = bar_attr(svgs[0], "height");
    EXPECT_NEAR(std::stod(h[0]) / std::stod(h[2]), 98.75 / 95, 0.001);
    // The margin chart leaves out the null one and says so.
    EXPECT_EQ(bar_attr(svgs[1], "data-value"), (std::vector<std::string>{"0.0123", "0.47"}));
    EXPECT_NE(html.find("No avg_margin bar for seed-only: avg_margin is null"), std::string::npos);
    // Without a threshold: one colour, no line, no verdict.
    for (const std::string &fill : bar_attr(svgs[0], "fill")) EXPECT_EQ(fill, "#4c72b0");
    EXPECT_EQ(html.find("class=\"rule\""), std::string::npos);
    EXPECT_EQ(html.find("verdict"), std::string::npos);
}

TEST(AuditReport, TablesHoldEveryField) {
    const std::string html = render(std::nullopt);
    EXPECT_EQ(
        row_cells(html, "<caption>Summary</caption>", "honest"),
        (std::vector<std::string>{"honest", "98.75%", "0.0123", "0.9900", "480", "12", "llama-server"}));
    EXPECT_EQ(row_cells(html, "<caption>Summary</caption>", "seed-only"),
              (std::vector<std::string>{"seed-only", "95.00%", "null", "0.5000", "10", "1", "-"}));
    const std::string honest = "<caption>honest</caption>";
    const std::vector<std::pair<std::string, std::string>> fields = {
        {"exact_match_rate", "98.75%"},
        {"avg_prob", "0.9900"},
        {"avg_margin", "0.0123"},
        {"avg_logit_rank", "0.0200"},
        {"avg_gumbel_rank", "0.0250"},
        {"infinite_margin_rate", "0.00%"},
        {"total_tokens", "480"},
        {"n_sequences", "12"},
        {"n_prompts", "12"},
        {"n_truncated", "11"},
        {"avg_logprob", "-0.2500"},
        {"retokenization", "1 of 12 answers changed, 7 of 477 tokens"},
        {"answered_by", "llama-server"},
        {"model", "smollm2-135m"},
        {"reference", "local:abc123"},
        {"sampling", "temperature=0, top_k=-1, top_p=1, seed=42, noise=vllm, max_tokens=48"},
        {"endpoint", "http://127.0.0.1:8080/v1"}};
    for (const auto &[field, value] : fields)
        EXPECT_EQ(row_cells(html, honest, field), (std::vector<std::string>{field, value})) << field;
    const std::string impostor = "<caption>impostor &lt;q2_k&gt;</caption>";
    EXPECT_EQ(row_cells(html, impostor, "avg_gumbel_rank")[1], "null (not finite)");
    EXPECT_EQ(row_cells(html, impostor, "infinite_margin_rate")[1], "1.25%");
    EXPECT_EQ(row_cells(html, impostor, "retokenization")[1],
              "not measured (no provider token ids; audit with --logprobs)");
    EXPECT_EQ(row_cells(html, impostor, "reference")[1],
              "fireworks_echo:https://f.example/v1 model=m k=5 (kind=topk, k=5, wire=fireworks_echo)");
    const std::string seed = "<caption>seed-only</caption>";
    EXPECT_EQ(row_cells(html, seed, "avg_margin")[1], "null (no finite margin)");
    EXPECT_EQ(row_cells(html, seed, "n_truncated")[1], "-");
    // The header: the model all providers share, the sampling they share, the reference that differs.
    EXPECT_NE(html.find("<h1>Provider audit: smollm2-135m</h1>"), std::string::npos);
    EXPECT_EQ(row_cells(html, "class=\"meta\"", "sampling")[1],
              "temperature=0, top_k=-1, top_p=1, seed=42, noise=vllm, max_tokens=48");
    EXPECT_EQ(row_cells(html, "class=\"meta\"", "reference")[1], "differs per provider (see the tables)");
    EXPECT_EQ(row_cells(html, "class=\"meta\"", "results")[1], "runs/audit_results.json");
}

TEST(AuditReport, ThresholdColoursProviders) {
    const std::string html = render(0.95);
    const std::vector<std::string> svgs = svgs_of(html);
    ASSERT_EQ(svgs.size(), 2u);
    for (const std::string &svg : svgs) difr_test::expect_well_formed(svg);
    // 98.75% and 95% (exactly at the threshold) pass, 70.2% fails; the margin bars keep each provider's
    // colour.
    const std::string pass = "#55a868", fail = "#c44e52";
    EXPECT_EQ(bar_attr(svgs[0], "fill"), (std::vector<std::string>{pass, fail, pass}));
    EXPECT_EQ(bar_attr(svgs[1], "fill"), (std::vector<std::string>{pass, fail}));
    EXPECT_NE(svgs[0].find("<line class=\"rule\" data-value=\"95\""), std::string::npos);
    EXPECT_EQ(svgs[1].find("class=\"rule\""), std::string::npos);
    for (const char *legend : {">pass<", ">below threshold<", ">threshold 95%<"})
        EXPECT_NE(svgs[0].find(legend), std::string::npos) << legend;
    EXPECT_NE(html.find("<tr class=\"pass\"><td>honest</td>"), std::string::npos);
    EXPECT_NE(html.find("<tr class=\"fail\"><td>impostor &lt;q2_k&gt;</td>"), std::string::npos);
    EXPECT_NE(html.find("<tr class=\"pass\"><td>seed-only</td>"), std::string::npos);
    EXPECT_EQ(row_cells(html, "<caption>Summary</caption>", "impostor &lt;q2_k&gt;").back(),
              "below threshold");
    EXPECT_EQ(row_cells(html, "<caption>honest</caption>", "verdict")[1], "at or above threshold (95.00%)");
    EXPECT_EQ(row_cells(html, "class=\"meta\"", "threshold")[1],
              "exact match &gt;= 95.00%: 1 of 3 providers below");
    // Just above 95%: the seed-only provider fails too.
    EXPECT_EQ(bar_attr(svgs_of(render(0.9501))[0], "fill"), (std::vector<std::string>{pass, fail, fail}));
    EXPECT_THROW(render(1.5), difr::InputError);
}

TEST(AuditReport, PageIsSelfContainedAndEscaped) {
    const std::string html = render(0.95);
    const size_t body = html.find("<body>"), end = html.find("</body>");
    ASSERT_NE(body, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    difr_test::expect_well_formed(html.substr(body, end + 7 - body));  // every table, heading and chart
    for (const char *external : {"<script", "src=", "href=", "url(", "<link", "@import"})
        EXPECT_EQ(html.find(external), std::string::npos) << external;
    EXPECT_EQ(html.find("<q2_k>"), std::string::npos);
    EXPECT_NE(html.find("<h2>impostor &lt;q2_k&gt;</h2>"), std::string::npos);
}

// Malformed files: InputError naming the file, the provider and the field.
TEST(AuditReport, MalformedInputNamesFileProviderAndField) {
    const std::string ok =
        R"("exact_match_rate": 0.9, "avg_prob": 0.9, "avg_margin": 0.1, "total_tokens": 5, )"
        R"("n_sequences": 1)";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{\"p\": {\n", "r.json: malformed JSON at line 2"},
        {"[]", "r.json: expected an object mapping provider names to AuditResults"},
        {"{}", "r.json: no providers"},
        {R"({"p": 3})", "r.json: provider 'p': expected an AuditResult object, got 3"},
        {R"({"p": {"avg_prob": 0.9, "avg_margin": 0.1, "total_tokens": 5, "n_sequences": 1}})",
         "r.json: provider 'p': missing field 'exact_match_rate'"},
        {R"({"a": {)" + ok +
             R"(}, "p": {"exact_match_rate": "0.9", "avg_prob": 0.9, "avg_margin": 0.1, )"
             R"("total_tokens": 5, "n_sequences": 1}})",
         "r.json: provider 'p': field 'exact_match_rate' must be a number (got \"0.9\")"},
        {R"({"p": {)" + ok + R"(, "exact_match_rate": 1.5}})",
         "provider 'p': field 'exact_match_rate' must be in [0, 1] (got 1.5)"},
        {R"({"p": {)" + ok + R"(, "total_tokens": -1}})",
         "field 'total_tokens' must be a non-negative integer"},
        {R"({"p": {)" + ok + R"(, "n_sequences": 1.5}})",
         "field 'n_sequences' must be a non-negative integer"},
        {R"({"p": {)" + ok + R"(, "avg_margin": -0.1}})", "field 'avg_margin' must be >= 0 (got -0.1)"},
        {R"({"p": {)" + ok + R"(, "avg_margin": "x"}})", "field 'avg_margin' must be a number or null"},
        {R"({"p": {)" + ok + R"(, "reference": 5}})", "field 'reference' must be a string or an object"},
        {R"({"p": {)" + ok + R"(, "reference": {"kind": "topk"}}})",
         "provider 'p': missing field 'reference.id'"},
        {R"({"p": {)" + ok +
             R"(, "retokenization": {"sequences_compared": 1, "sequences_changed": 0, )"
             R"("tokens_compared": 3}}})",
         "provider 'p': missing field 'retokenization.tokens_changed'"},
        {R"({"p": {)" + ok + R"(, "config": {"sampling": [0.0]}}})",
         "field 'config.sampling' must be an object"},
        {R"({"p": {)" + ok + R"(, "config": {"max_tokens": "48"}}})",
         "field 'config.max_tokens' must be a non-negative integer"},
        {R"({"p": {)" + ok + R"(, "answered_by": 7}})", "field 'answered_by' must be a string"},
    };
    for (const auto &[text, message] : cases) {
        try {
            difr::audit_report_parse(text, "r.json");
            ADD_FAILURE() << "no error for " << text;
        } catch (const difr::InputError &e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("r.json: ", 0), 0u) << what;
            EXPECT_NE(what.find(message), std::string::npos) << "'" << what << "' lacks '" << message << "'";
        }
    }
    // The same fields parse when they are right.
    EXPECT_EQ(difr::audit_report_parse(R"({"p": {)" + ok + "}}", "r.json").entries.size(), 1u);
}

TEST(AuditReport, WriteReadsTheFileAndWritesThePage) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("difr-audit-report-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string results = (dir / "audit_results.json").string(), page = (dir / "report.html").string();
    try {
        difr::audit_report_write(results, page);
        ADD_FAILURE() << "no error for a missing file";
    } catch (const difr::InputError &e) {
        EXPECT_NE(std::string(e.what()).find("'" + results + "' not found"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(page));
    std::ofstream(results) << kResults;
    difr::AuditReportOptions o;
    o.threshold = 0.95;
    difr::audit_report_write(results, page, o);
    std::ifstream in(page);
    const std::string html((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(html, difr::audit_report_html(difr::audit_report_parse(kResults, results), o));
    EXPECT_NE(html.find("<td>" + results + "</td>"), std::string::npos);  // the page names its source
    std::filesystem::remove_all(dir);
}

}  // namespace
