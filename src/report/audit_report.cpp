// The provider audit's report: reading audit_results.json (strictly for the fields it uses, ignoring the
// rest) and rendering the HTML page with its two bar charts and tables.
#include "difr/audit_report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"
#include "difr/svg.h"

namespace difr {

namespace {

using ojson = nlohmann::ordered_json;  // ordered: providers and sampling keys keep the file's order

std::string fmt(const char *f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// A short rendering of a bad value for a message.
std::string got(const ojson &v) {
    std::string s = v.dump();
    return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

[[noreturn]] void bad_field(const std::string &where, const std::string &key, const std::string &what,
                            const ojson &value) {
    throw InputError(where + ": field '" + key + "' " + what + " (got " + got(value) + ")");
}

const ojson *member(const ojson &o, const std::string &key, const std::string &where, bool required,
                    const std::string &prefix = "") {
    auto it = o.find(key);
    if (it != o.end()) return &*it;
    if (required) throw InputError(where + ": missing field '" + prefix + key + "'");
    return nullptr;
}

// A number in [lo, hi]; null gives NaN where `nullable` (the file's null is a non-finite value).
std::optional<double> number_get(const ojson &o, const std::string &key, const std::string &where,
                                 bool required, bool nullable, double lo = -INFINITY, double hi = INFINITY,
                                 const std::string &prefix = "") {
    const ojson *v = member(o, key, where, required, prefix);
    if (!v) return std::nullopt;
    if (v->is_null() && nullable) return NAN;
    if (!v->is_number())
        bad_field(where, prefix + key, nullable ? "must be a number or null" : "must be a number", *v);
    const double d = v->get<double>();
    if (!(d >= lo && d <= hi))
        bad_field(where, prefix + key,
                  "must be " + (std::isinf(hi) ? ">= " + fmt("%g", lo)
                                               : "in [" + fmt("%g", lo) + ", " + fmt("%g", hi) + "]"),
                  *v);
    return d;
}

std::optional<int64_t> count_get(const ojson &o, const std::string &key, const std::string &where,
                                 bool required, const std::string &prefix = "") {
    const ojson *v = member(o, key, where, required, prefix);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
        bad_field(where, prefix + key, "must be a non-negative integer", *v);
    return v->get<int64_t>();
}

std::string string_get(const ojson &o, const std::string &key, const std::string &where,
                       const std::string &prefix = "") {
    const ojson *v = member(o, key, where, false);
    if (!v || v->is_null()) return "";
    if (!v->is_string()) bad_field(where, prefix + key, "must be a string", *v);
    return v->get<std::string>();
}

// A scalar of config.sampling or of a reference object, as written in the page.
std::string scalar_text(const ojson &v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return v.dump();
    if (v.is_number()) return fmt("%g", v.get<double>());
    return v.dump();  // true, false, null
}

// "local:<sha256>" today; {"kind": ..., "id": ..., "k": ..., ...} once wire.md's object is written.
void reference_read(const ojson &v, const std::string &where, const std::string &key, AuditReportEntry &e) {
    if (v.is_null()) return;
    if (v.is_string()) {
        e.reference = v.get<std::string>();
        return;
    }
    if (!v.is_object()) bad_field(where, key, "must be a string or an object with an \"id\"", v);
    e.reference = string_get(v, "id", where, key + ".");
    if (e.reference.empty()) throw InputError(where + ": missing field '" + key + ".id'");
    for (auto it = v.begin(); it != v.end(); ++it)
        if (it.key() != "id" && it.value().is_primitive() && !it.value().is_null())
            e.reference_detail +=
                (e.reference_detail.empty() ? "" : ", ") + it.key() + "=" + scalar_text(it.value());
}

void config_read(const ojson &c, const std::string &where, AuditReportEntry &e) {
    if (!c.is_object()) bad_field(where, "config", "must be an object", c);
    if (const ojson *s = member(c, "sampling", where, false); s && !s->is_null()) {
        if (!s->is_object()) bad_field(where, "config.sampling", "must be an object", *s);
        for (auto it = s->begin(); it != s->end(); ++it) {
            if (!it.value().is_primitive())
                bad_field(where, "config.sampling." + it.key(), "must be a number, string or boolean",
                          it.value());
            e.sampling += (e.sampling.empty() ? "" : ", ") + it.key() + "=" + scalar_text(it.value());
        }
    }
    e.max_tokens = count_get(c, "max_tokens", where, false, "config.");
    e.endpoint = string_get(c, "base_url", where, "config.");
    const std::string pin = string_get(c, "pin_provider", where, "config.");
    if (!pin.empty()) e.endpoint += (e.endpoint.empty() ? "" : " ") + std::string("pinned to ") + pin;
    if (e.reference.empty())
        if (const ojson *r = member(c, "reference", where, false))
            reference_read(*r, where, "config.reference", e);
}

AuditReportEntry entry_read(const std::string &name, const ojson &r, const std::string &source) {
    const std::string where = source + ": provider '" + name + "'";
    if (!r.is_object()) throw InputError(where + ": expected an AuditResult object, got " + got(r));
    AuditReportEntry e;
    e.provider = name;
    // token-difr's AuditResult: required.
    e.exact_match_rate = *number_get(r, "exact_match_rate", where, true, false, 0.0, 1.0);
    e.avg_prob = *number_get(r, "avg_prob", where, true, false, 0.0, 1.0);
    e.avg_margin = *number_get(r, "avg_margin", where, true, true, 0.0);
    e.total_tokens = *count_get(r, "total_tokens", where, true);
    e.n_sequences = *count_get(r, "n_sequences", where, true);
    // What difr writes beyond it: optional.
    e.avg_logit_rank = number_get(r, "avg_logit_rank", where, false, true, 0.0);
    e.avg_gumbel_rank = number_get(r, "avg_gumbel_rank", where, false, true, 0.0);
    e.infinite_margin_rate = number_get(r, "infinite_margin_rate", where, false, false, 0.0, 1.0);
    e.avg_logprob = number_get(r, "avg_logprob", where, false, true);
    e.n_prompts = count_get(r, "n_prompts", where, false);
    e.skipped_sequences = count_get(r, "skipped_sequences", where, false);
    e.n_truncated = count_get(r, "n_truncated", where, false);
    e.model = string_get(r, "model", where);
    e.answered_by = string_get(r, "answered_by", where);
    if (const ojson *ref = member(r, "reference", where, false)) reference_read(*ref, where, "reference", e);
    if (const ojson *rt = member(r, "retokenization", where, false); rt && !rt->is_null()) {
        if (!rt->is_object()) bad_field(where, "retokenization", "must be an object", *rt);
        AuditReportRetokenization t;
        t.sequences_compared = *count_get(*rt, "sequences_compared", where, true, "retokenization.");
        t.sequences_changed = *count_get(*rt, "sequences_changed", where, true, "retokenization.");
        t.tokens_compared = *count_get(*rt, "tokens_compared", where, true, "retokenization.");
        t.tokens_changed = *count_get(*rt, "tokens_changed", where, true, "retokenization.");
        e.retokenization = t;
    }
    if (const ojson *c = member(r, "config", where, false); c && !c->is_null()) config_read(*c, where, e);
    return e;
}

// --- rendering ---

constexpr const char *kNeutral = "#4c72b0", *kPass = "#55a868", *kFail = "#c44e52";

bool below(const AuditReportEntry &e, const AuditReportOptions &o) {
    return o.threshold && e.exact_match_rate < *o.threshold;
}

std::string bar_color(const AuditReportEntry &e, const AuditReportOptions &o) {
    return !o.threshold ? kNeutral : below(e, o) ? kFail : kPass;
}

std::string percent(double rate) {
    return fmt("%.2f%%", 100.0 * rate);
}

// NaN: null in the file.
std::string number_cell(double v, const char *f, const char *null_text) {
    return std::isnan(v) ? null_text : fmt(f, v);
}

std::string optional_cell(const std::optional<double> &v, const char *f, const char *null_text) {
    return v ? number_cell(*v, f, null_text) : "-";
}

std::string optional_count(const std::optional<int64_t> &v) {
    return v ? std::to_string(*v) : "-";
}

std::string retokenization_cell(const std::optional<AuditReportRetokenization> &rt) {
    if (!rt) return "-";
    if (rt->sequences_compared == 0) return "not measured (no provider token ids; audit with --logprobs)";
    return std::to_string(rt->sequences_changed) + " of " + std::to_string(rt->sequences_compared) +
           " answers changed, " + std::to_string(rt->tokens_changed) + " of " +
           std::to_string(rt->tokens_compared) + " tokens";
}

std::string verdict_cell(const AuditReportEntry &e, const AuditReportOptions &o) {
    return below(e, o) ? "below threshold (" + percent(*o.threshold) + ")"
                       : "at or above threshold (" + percent(*o.threshold) + ")";
}

constexpr const char *kDiffers = "differs per provider (see the tables)";

// The value every provider shares, kDiffers if they do not, empty if no provider has one.
template <class Get>
std::string shared_value(const AuditReport &r, Get get) {
    std::string value;
    for (const AuditReportEntry &e : r.entries) {
        const std::string v = get(e);
        if (v.empty()) continue;
        if (!value.empty() && v != value) return kDiffers;
        value = v;
    }
    return value;
}

std::string reference_text(const AuditReportEntry &e) {
    return e.reference_detail.empty() ? e.reference : e.reference + " (" + e.reference_detail + ")";
}

std::string sampling_text(const AuditReportEntry &e) {
    std::string s = e.sampling;
    if (e.max_tokens)
        s += (s.empty() ? "" : ", ") + std::string("max_tokens=") + std::to_string(*e.max_tokens);
    return s;
}

std::string row_html(const std::vector<std::string> &cells, const char *tag, const std::string &cls = "") {
    std::string s = cls.empty() ? "<tr>" : "<tr class=\"" + cls + "\">";
    for (const std::string &c : cells) s += std::string("<") + tag + ">" + xml_escape(c) + "</" + tag + ">";
    return s + "</tr>\n";
}

int chart_width(size_t bars, bool legend) {
    return std::max(480, 80 + 70 * int(bars) + (legend ? 150 : 20));
}

std::string charts_html(const AuditReport &r, const AuditReportOptions &o) {
    std::vector<SvgLegendEntry> legend;
    if (o.threshold)
        legend = {{"pass", kPass, false},  // the legend has ~130 px: short names
                  {"below threshold", kFail, false},
                  {"threshold " + fmt("%g%%", 100.0 * *o.threshold), "#333", true}};
    std::vector<SvgBar> rates, margins;
    std::string skipped;
    for (const AuditReportEntry &e : r.entries) {
        rates.push_back({e.provider, 100.0 * e.exact_match_rate, bar_color(e, o)});
        if (std::isnan(e.avg_margin))
            skipped += (skipped.empty() ? "" : ", ") + e.provider;
        else
            margins.push_back({e.provider, e.avg_margin, bar_color(e, o)});
    }
    ChartOptions ro;
    ro.title = "Exact-match rate per provider";
    ro.y_label = "exact match (%)";
    ro.y_max = 100.0;
    ro.value_digits = 4;  // 99.95 must not read as 100
    ro.width = chart_width(rates.size(), o.threshold.has_value());
    if (o.threshold) ro.rule_y = 100.0 * *o.threshold;
    std::string s = "<div class=\"charts\">\n" + svg_bar_chart(rates, ro, legend);
    if (!margins.empty()) {
        ChartOptions mo;
        mo.title = "Mean Token-DiFR margin per provider";
        mo.y_label = "avg_margin (logit units)";
        mo.width = chart_width(margins.size(), o.threshold.has_value());
        if (o.threshold) legend.pop_back();  // the margin chart has no threshold line
        s += svg_bar_chart(margins, mo, legend);
    }
    s += "</div>\n";
    if (!skipped.empty())
        s += "<p class=\"note\">No avg_margin bar for " + xml_escape(skipped) +
             ": avg_margin is null (no finite margin: every claimed token was outside the reference's "
             "candidates).</p>\n";
    return s;
}

std::string summary_table(const AuditReport &r, const AuditReportOptions &o) {
    std::vector<std::string> header = {"provider", "exact match", "avg_margin", "avg_prob",
                                       "tokens",   "sequences",   "answered by"};
    if (o.threshold) header.push_back("verdict");
    std::string s = "<table class=\"summary\">\n<caption>Summary</caption>\n" + row_html(header, "th");
    for (const AuditReportEntry &e : r.entries) {
        std::vector<std::string> row = {e.provider,
                                        percent(e.exact_match_rate),
                                        number_cell(e.avg_margin, "%.4f", "null"),
                                        fmt("%.4f", e.avg_prob),
                                        std::to_string(e.total_tokens),
                                        std::to_string(e.n_sequences),
                                        e.answered_by.empty() ? "-" : e.answered_by};
        if (o.threshold) row.push_back(below(e, o) ? "below threshold" : "pass");
        s += row_html(row, "td", o.threshold ? (below(e, o) ? "fail" : "pass") : "");
    }
    return s + "</table>\n";
}

std::string provider_table(const AuditReportEntry &e, const AuditReportOptions &o) {
    std::vector<std::pair<std::string, std::string>> rows;
    if (o.threshold) rows.emplace_back("verdict", verdict_cell(e, o));
    rows.insert(rows.end(),
                {{"exact_match_rate", percent(e.exact_match_rate)},
                 {"avg_prob", fmt("%.4f", e.avg_prob)},
                 {"avg_margin", number_cell(e.avg_margin, "%.4f", "null (no finite margin)")},
                 {"avg_logit_rank", optional_cell(e.avg_logit_rank, "%.4f", "null (not finite)")},
                 {"avg_gumbel_rank", optional_cell(e.avg_gumbel_rank, "%.4f", "null (not finite)")},
                 {"infinite_margin_rate", e.infinite_margin_rate ? percent(*e.infinite_margin_rate) : "-"},
                 {"total_tokens", std::to_string(e.total_tokens)},
                 {"n_sequences", std::to_string(e.n_sequences)},
                 {"n_prompts", optional_count(e.n_prompts)},
                 {"skipped_sequences", optional_count(e.skipped_sequences)},
                 {"n_truncated", optional_count(e.n_truncated)},
                 {"avg_logprob", optional_cell(e.avg_logprob, "%.4f", "null (not finite)")},
                 {"retokenization", retokenization_cell(e.retokenization)},
                 {"answered_by", e.answered_by.empty() ? "-" : e.answered_by},
                 {"model", e.model.empty() ? "-" : e.model},
                 {"reference", e.reference.empty() ? "-" : reference_text(e)},
                 {"sampling", sampling_text(e).empty() ? "-" : sampling_text(e)},
                 {"endpoint", e.endpoint.empty() ? "-" : e.endpoint}});
    std::string s = "<table class=\"provider\">\n<caption>" + xml_escape(e.provider) + "</caption>\n" +
                    row_html({"field", "value"}, "th");
    const std::string cls = o.threshold ? (below(e, o) ? "fail" : "pass") : "";
    for (const auto &[field, value] : rows)
        s += row_html({field, value}, "td", field == "verdict" ? cls : "");
    return s + "</table>\n";
}

}  // namespace

AuditReport audit_report_parse(const std::string &text, const std::string &source) {
    const ojson j = json_parse_located<ojson>(text, source);
    if (!j.is_object())
        throw InputError(source + ": expected an object mapping provider names to AuditResults, got " +
                         got(j));
    if (j.empty()) throw InputError(source + ": no providers (the file holds an empty object)");
    AuditReport r;
    r.source = source;
    for (auto it = j.begin(); it != j.end(); ++it)
        r.entries.push_back(entry_read(it.key(), it.value(), source));
    return r;
}

AuditReport audit_report_read(const std::string &path) {
    if (!std::filesystem::is_regular_file(path))
        throw InputError("'" + path +
                         "' not found (expected the audit_results.json that `difr audit` writes)");
    return audit_report_parse(file_read_text(path), path);
}

std::string audit_report_html(const AuditReport &r, const AuditReportOptions &o) {
    if (o.threshold && !(*o.threshold >= 0.0 && *o.threshold <= 1.0))
        throw InputError("the threshold is a match rate in [0, 1], got " + fmt("%g", *o.threshold));
    const std::string model = shared_value(r, [](const AuditReportEntry &e) { return e.model; });
    const bool one_model = !model.empty() && model != kDiffers;
    const std::string title = "Provider audit" + (one_model ? ": " + model : "");
    std::string s = html_page_begin(title,
                                    "tr.pass td { background: #e6f4ea; }\n"
                                    "tr.fail td { background: #fbe3e4; }\n"
                                    ".meta td:first-child { font-weight: bold; }\n"
                                    ".note { font-size: 13px; color: #555; }\n"
                                    ".charts { display: flex; flex-wrap: wrap; gap: 0 24px; }\n");
    std::vector<std::pair<std::string, std::string>> meta = {{"model", one_model ? "" : model},
                                                             {"reference", shared_value(r, reference_text)},
                                                             {"sampling", shared_value(r, sampling_text)},
                                                             {"results", r.source},
                                                             {"providers", std::to_string(r.entries.size())}};
    if (o.threshold) {
        size_t failing = 0;
        for (const AuditReportEntry &e : r.entries) failing += below(e, o);
        meta.emplace_back("threshold", "exact match >= " + percent(*o.threshold) + ": " +
                                           std::to_string(failing) + " of " +
                                           std::to_string(r.entries.size()) + " providers below");
    }
    s += "<table class=\"meta\">\n";
    for (const auto &[k, v] : meta)
        if (!v.empty()) s += row_html({k, v}, "td");
    s += "</table>\n";
    s +=
        "<p class=\"note\">exact_match_rate: the fraction of tokens the reference would have produced itself "
        "(token-difr: matching models reach 97-99%, mismatched ones often less than 90%). avg_margin: the "
        "mean "
        "Token-DiFR margin in logit units over the finite margins (0 for a token the reference agrees with). "
        "null in a field: the value was not finite. See docs/audit.md.</p>\n";
    s += charts_html(r, o) + summary_table(r, o);
    for (const AuditReportEntry &e : r.entries)
        s += "<h2>" + xml_escape(e.provider) + "</h2>\n" + provider_table(e, o);
    return s + "</body>\n</html>\n";
}

void audit_report_write(const std::string &results_path, const std::string &html_path,
                        const AuditReportOptions &options) {
    file_write_atomic(html_path, audit_report_html(audit_report_read(results_path), options));
}

}  // namespace difr
