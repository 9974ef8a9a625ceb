// Reading a lab directory, running the detectors per pass, results.json, and writing the outputs.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/lab_analysis.h"
#include "difr/results.h"

namespace difr {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// One config's pass: tokens of even sequences go to training, odd ones are held out (design in
// docs/statistics.md: a sequence never straddles the split, so correlated neighbours do not leak).
ConfigTokens read_tokens(const std::string &path, const LabConfigInfo &config) {
    std::ifstream in(path);
    if (!in)
        throw InputError("cannot read '" + path +
                         "' (a pass directory must hold the verifier's tokens.jsonl)");
    ConfigTokens c{config.name, config.role == "honest", {}, {}};
    std::string line;
    for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(lineno);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::parse_error &e) {
            throw InputError(where + ": malformed JSON: " + e.what());
        }
        if (!j.is_object()) throw InputError(where + ": expected one JSON object per line");
        auto field = [&](const char *key) -> const json & {
            auto it = j.find(key);
            if (it == j.end()) throw InputError(where + ": missing field '" + key + "'");
            return *it;
        };
        const json &seq = field("seq"), &em = field("exact_match"), &prob = field("prob"),
                   &margin = field("margin");
        if (!seq.is_number_integer() || seq.get<int64_t>() < 0)
            throw InputError(where + ": 'seq' must be a non-negative integer");
        if (!em.is_boolean()) throw InputError(where + ": 'exact_match' must be true or false");
        if (!prob.is_number()) throw InputError(where + ": 'prob' must be a number");
        if (!margin.is_number() && !margin.is_null())
            throw InputError(where + ": 'margin' must be a number or null");
        TokenObs t;
        t.exact_match = em.get<bool>();
        t.prob = prob.get<float>();
        t.margin = margin.is_null() ? INFINITY : margin.get<float>();  // null is +inf (src/io/results.cpp)
        if (std::isnan(t.prob) || std::isnan(t.margin)) throw InputError(where + ": NaN metric");
        (seq.get<int64_t>() % 2 == 0 ? c.train : c.test).push_back(t);
    }
    return c;
}

const ojson &require(const ojson &j, const char *key, const std::string &where) {
    auto it = j.find(key);
    if (it == j.end()) throw InputError(where + ": missing field '" + key + "'");
    return *it;
}

ojson number_or_null(double v) {
    return std::isfinite(v) ? ojson(v) : ojson(nullptr);
}

}  // namespace

LabAnalysis lab_analyze(const std::string &labdir, const DetectOptions &options) {
    const std::string lab_path = (fs::path(labdir) / "lab.json").string();
    if (!fs::exists(lab_path))
        throw InputError("'" + lab_path + "' not found (is '" + labdir + "' a lab directory?)");
    LabAnalysis a;
    a.options = options;
    a.lab_json = file_read_text(lab_path);
    const ojson lab = json_parse_located<ojson>(a.lab_json, lab_path);  // ordered: passes keep lab.json's order
    if (!lab.is_object()) throw InputError(lab_path + ": expected an object");
    a.lab = lab.value("lab", fs::path(labdir).filename().string());
    const ojson &configs = require(lab, "configs", lab_path);
    if (!configs.is_array() || configs.empty())
        throw InputError(lab_path + ": 'configs' must be a non-empty array");

    std::vector<std::vector<std::pair<std::string, std::string>>> pass_dirs;  // per config: (pass, dir)
    for (size_t i = 0; i < configs.size(); ++i) {
        const std::string where = lab_path + ": configs[" + std::to_string(i) + "]";
        const ojson &c = configs[i];
        if (!c.is_object()) throw InputError(where + " must be an object");
        LabConfigInfo lc;
        const ojson &name = require(c, "name", where), &role = require(c, "role", where);
        if (!name.is_string() || !role.is_string())
            throw InputError(where + ": 'name' and 'role' must be strings");
        lc.name = name.get<std::string>();
        lc.role = role.get<std::string>();
        if (lc.role != "honest" && lc.role != "deviation")
            throw InputError(where + ": role must be \"honest\" or \"deviation\", got \"" + lc.role + "\"");
        lc.description = c.value("description", "");
        std::vector<std::pair<std::string, std::string>> dirs;
        const ojson &passes = require(c, "passes", where);
        if (!passes.is_object()) throw InputError(where + ": 'passes' must be an object");
        for (auto it = passes.begin(); it != passes.end(); ++it) {
            if (!it.value().is_string())
                throw InputError(where + ": passes." + it.key() + " must be a directory");
            dirs.emplace_back(it.key(), it.value().get<std::string>());
            bool known = false;
            for (const LabPass &p : a.passes) known = known || p.name == it.key();
            if (!known) a.passes.push_back({it.key(), {}, {}});
        }
        a.configs.push_back(lc);
        pass_dirs.push_back(std::move(dirs));
    }
    for (LabPass &p : a.passes) {
        std::vector<ConfigTokens> tokens;
        for (size_t i = 0; i < a.configs.size(); ++i)
            for (const auto &[pass, dir] : pass_dirs[i])
                if (pass == p.name) {
                    tokens.push_back(
                        read_tokens((fs::path(labdir) / dir / "tokens.jsonl").string(), a.configs[i]));
                    p.configs.push_back(a.configs[i].name);
                }
        try {
            p.result = detect_analyze_pass(tokens, options);
        } catch (const std::invalid_argument &e) {
            throw InputError(lab_path + ": pass '" + p.name + "': " + e.what());
        }
    }
    return a;
}

std::string lab_results_json(const LabAnalysis &a) {
    ojson j;
    j["lab"] = a.lab;
    j["options"] = {{"alpha", a.options.alpha},
                    {"target_tpr", a.options.target_tpr},
                    {"rho", a.options.rho},
                    {"sprt_alpha", a.options.sprt_alpha},
                    {"sprt_beta", a.options.sprt_beta},
                    {"logistic_C", a.options.logistic_C},
                    {"margin_cap", kMarginCap},
                    {"split", "even sequences train, odd sequences test"},
                    {"partial_buckets", "dropped"}};
    j["bucket_sizes"] = kBucketSizes;
    j["lab_json"] = ojson::parse(a.lab_json);
    ojson passes = ojson::object();
    for (const LabPass &p : a.passes) {
        ojson pj;
        const LlrTable &t = p.result.table;
        pj["llr_table"] = {{"categories", {"exact_match", "margin<=0.1", "margin<=1", "margin>1 or inf"}},
                           {"honest_frequency", t.honest},
                           {"llr", t.llr},
                           {"honest_tokens", t.honest_tokens},
                           {"rho", t.rho}};
        ojson th = ojson::array();
        for (size_t i = 0; i < kBucketSizes.size(); ++i)
            th.push_back({{"n", kBucketSizes[i]},
                          {"threshold", number_or_null(p.result.thresholds[i])},
                          {"honest_train_buckets", p.result.honest_train_buckets[i]}});
        pj["calibrated_thresholds"] = th;
        ojson cs = ojson::array();
        for (size_t ci = 0; ci < p.result.configs.size(); ++ci) {
            const ConfigResult &r = p.result.configs[ci];
            ojson c;
            c["name"] = r.name;
            c["role"] = r.honest ? "honest" : "deviation";
            c["tokens"] = r.tokens;
            c["mean_capped_margin"] = r.mean_capped_margin;
            c["exact_match_rate"] = r.exact_match_rate;
            c["mean_prob"] = r.mean_prob;
            if (r.honest) {
                c["accepted"] = r.accepted;
                if (r.unseen.evaluated)
                    c["unseen"] = {{"calibrated_without_this_config", true},
                                   {"accepted", r.unseen.accepted},
                                   {"max_fpr", r.unseen.max_fpr},
                                   {"sprt_deviation_decisions", r.unseen.sprt.deviation_decisions},
                                   {"sprt_decisions", r.unseen.sprt.decisions}};
                else
                    c["unseen"] = nullptr;
            } else {
                c["tokens_needed"] = {
                    {"logistic", r.logistic_tokens_needed ? ojson(r.logistic_tokens_needed) : ojson(nullptr)},
                    {"calibrated",
                     r.calibrated_tokens_needed ? ojson(r.calibrated_tokens_needed) : ojson(nullptr)}};
                ojson lg = ojson::array();
                for (const LogisticAtN &l : r.logistic) {
                    ojson e = {{"n", l.n},
                               {"train_neg", l.train_neg},
                               {"train_pos", l.train_pos},
                               {"test_neg", l.test_neg},
                               {"test_pos", l.test_pos},
                               {"evaluated", l.evaluated}};
                    if (l.evaluated) {
                        e["auc"] = l.auc;
                        e["tpr_at_fpr"] = l.tpr;
                        e["fpr"] = l.fpr;
                        e["intercept_and_weights"] = l.weights;
                    }
                    lg.push_back(e);
                }
                c["logistic"] = lg;
            }
            ojson cal = ojson::array();
            for (const CalibratedAtN &k : r.calibrated) {
                ojson e = {{"n", k.n}, {"test_buckets", k.test_buckets}, {"evaluated", k.evaluated}};
                if (k.evaluated) {
                    e["flagged"] = k.flagged;
                    e[r.honest ? "fpr" : "tpr"] = k.rate;
                    if (r.honest)
                        e["accepted"] = k.accepted;
                    else
                        e["auc"] = k.auc;
                }
                cal.push_back(e);
            }
            c["calibrated"] = cal;
            c["sprt"] = {{"decisions", r.sprt.decisions},
                         {"deviation_decisions", r.sprt.deviation_decisions},
                         {"honest_decisions", r.sprt.honest_decisions},
                         {"mean_tokens_to_decision", r.sprt.mean_tokens()},
                         {"p99_tokens_to_decision", r.sprt.p99_tokens},
                         {"undecided_tokens", r.sprt.undecided_tokens}};
            cs.push_back(c);
        }
        pj["configs"] = cs;
        passes[p.name] = pj;
    }
    j["passes"] = passes;
    return j.dump(2) + "\n";
}

std::string lab_analyze_write(const std::string &labdir, const DetectOptions &options) {
    const LabAnalysis a = lab_analyze(labdir, options);
    const std::string md = lab_results_markdown(a);
    file_write_atomic((fs::path(labdir) / "results.json").string(), lab_results_json(a));
    file_write_atomic((fs::path(labdir) / "results.md").string(), md);
    file_write_atomic((fs::path(labdir) / "report.html").string(), lab_report_html(a));
    return md;
}

}  // namespace difr
