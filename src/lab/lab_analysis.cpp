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

// One config's pass, per sequence (docs/statistics.md: the folds split by sequence, so correlated neighbours
// never straddle training and held-out data, and the bootstrap resamples whole sequences).
ConfigTokens read_tokens(const std::string &path, const LabConfigInfo &config, int64_t max_sequences) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw InputError("cannot read '" + path +
                         "' (a pass directory must hold the verifier's tokens.jsonl)");
    return lab_tokens_parse(std::string(std::istreambuf_iterator<char>(in), {}), path, config, max_sequences);
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

ConfigTokens lab_tokens_parse(const std::string &text, const std::string &path, const LabConfigInfo &config,
                              int64_t max_sequences) {
    ConfigTokens c{config.name, config.role == "honest", {}};
    jsonl_for_each(text, path, [&](const json &j, const std::string &where) {
        if (!j.is_object()) throw InputError(where + ": expected one JSON object per line");
        auto field = [&](const char *key) -> const json & {
            auto it = j.find(key);
            if (it == j.end()) throw InputError(where + ": missing field '" + key + "'");
            return *it;
        };
        const json &seq = field("seq"), &em = field("exact_match"), &prob = field("prob"),
                   &margin = field("margin");
        // The index selects the fold and the prompt, so it must stay within the lab's prompts: a stray huge
        // index would otherwise allocate that many empty sequences.
        if (!seq.is_number_integer() || (!seq.is_number_unsigned() && seq.get<int64_t>() < 0))
            throw InputError(where + ": 'seq' must be a non-negative integer");
        if (!seq.is_number_unsigned() || seq.get<uint64_t>() >= (uint64_t)max_sequences)
            throw InputError(where + ": 'seq' is " + seq.dump() + ", beyond the lab's " +
                             std::to_string(max_sequences) + " prompts");
        if (!em.is_boolean()) throw InputError(where + ": 'exact_match' must be true or false");
        if (!prob.is_number()) throw InputError(where + ": 'prob' must be a number");
        if (!margin.is_number() && !margin.is_null())
            throw InputError(where + ": 'margin' must be a number or null");
        TokenObs t;
        t.exact_match = em.get<bool>();
        t.prob = prob.get<float>();
        t.margin = margin.is_null() ? INFINITY : margin.get<float>();  // null is +inf (src/io/results.cpp)
        if (std::isnan(t.prob) || std::isnan(t.margin)) throw InputError(where + ": NaN metric");
        const size_t si = seq.get<size_t>();
        if (si >= c.sequences.size()) c.sequences.resize(si + 1);
        c.sequences[si].push_back(t);
    });
    return c;
}

LabAnalysis lab_analyze(const std::string &labdir, const DetectOptions &options) {
    const std::string lab_path = (fs::path(labdir) / "lab.json").string();
    if (!fs::exists(lab_path))
        throw InputError("'" + lab_path + "' not found (is '" + labdir + "' a lab directory?)");
    LabAnalysis a;
    a.options = options;
    a.lab_json = file_read_text(lab_path);
    const ojson lab =
        json_parse_located<ojson>(a.lab_json, lab_path);  // ordered: passes keep lab.json's order
    if (!lab.is_object()) throw InputError(lab_path + ": expected an object");
    a.lab = lab.value("lab", fs::path(labdir).filename().string());
    // lab.json says how many prompts the lab ran; a tokens.jsonl index beyond it is malformed.
    int64_t n_prompts = kLabMaxSequences;
    if (auto it = lab.find("n_prompts"); it != lab.end()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() < 1 ||
            it->get<uint64_t>() > (uint64_t)kLabMaxSequences)
            throw InputError(lab_path + ": 'n_prompts' must be an integer in [1, " +
                             std::to_string(kLabMaxSequences) + "]");
        n_prompts = it->get<int64_t>();
    }
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
                    tokens.push_back(read_tokens((fs::path(labdir) / dir / "tokens.jsonl").string(),
                                                 a.configs[i], n_prompts));
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

namespace {

ojson interval_json(const Interval &i) {
    return ojson::array({i.lo, i.hi});
}

ojson rate_json(const Rate &r) {
    return {{"k", r.k},
            {"m", r.m},
            {"value", r.value},
            {"clopper_pearson", interval_json(r.exact)},
            {"bootstrap", interval_json(r.bootstrap)}};
}

ojson calibrated_json(const std::vector<CalibratedAtN> &rates, bool honest) {
    ojson cal = ojson::array();
    for (const CalibratedAtN &k : rates) {
        ojson e = {{"n", k.n}, {"evaluated", k.evaluated}};
        if (k.evaluated) {
            e[honest ? "fpr" : "tpr"] = rate_json(k.rate);
            e["auc"] = number_or_null(k.auc);
            if (honest) e["accepted"] = k.accepted;
        }
        cal.push_back(e);
    }
    return cal;
}

ojson sprt_json(const SprtRun &s) {
    return {{"decisions", s.decisions},
            {"deviation_decisions", s.deviation_decisions},
            {"honest_decisions", s.honest_decisions},
            {"mean_tokens_to_decision", s.mean_tokens()},
            {"p99_tokens_to_decision", s.p99_tokens},
            {"undecided_tokens", s.undecided_tokens}};
}

ojson needed_json(int n) {
    return n ? ojson(n) : ojson("not resolvable at this size");
}

}  // namespace

std::string lab_results_json(const LabAnalysis &a) {
    ojson j;
    j["lab"] = a.lab;
    j["options"] = {{"alpha", a.options.alpha},
                    {"target_tpr", a.options.target_tpr},
                    {"confidence_level", a.options.level},
                    {"bootstrap_replicates", a.options.bootstrap_replicates},
                    {"rho", a.options.rho},
                    {"sprt_alpha", a.options.sprt_alpha},
                    {"sprt_beta", a.options.sprt_beta},
                    {"logistic_C", a.options.logistic_C},
                    {"margin_cap", kMarginCap},
                    {"folds",
                     "fold 0 trains on even sequences and tests on odd ones, fold 1 the reverse; "
                     "held-out figures pool both folds"},
                    {"partial_buckets", "dropped"}};
    j["bucket_sizes"] = kBucketSizes;
    j["lab_json"] = ojson::parse(a.lab_json);
    ojson passes = ojson::object();
    for (const LabPass &p : a.passes) {
        ojson pj;
        pj["prompts"] = p.result.prompts;
        ojson folds = ojson::array();
        for (const FoldCalibration &f : p.result.folds) {
            const LlrTable &t = f.table;
            ojson th = ojson::array();
            for (size_t i = 0; i < kBucketSizes.size(); ++i)
                th.push_back({{"n", kBucketSizes[i]},
                              {"threshold", number_or_null(f.thresholds[i])},
                              {"honest_train_buckets", f.honest_train_buckets[i]}});
            folds.push_back({{"llr_table",
                              {{"categories", {"exact_match", "margin<=0.1", "margin<=1", "margin>1 or inf"}},
                               {"honest_frequency", t.honest},
                               {"llr", t.llr},
                               {"honest_tokens", t.honest_tokens},
                               {"rho", t.rho}}},
                             {"calibrated_thresholds", th}});
        }
        pj["folds"] = folds;
        ojson fpr = ojson::array();
        for (size_t i = 0; i < kBucketSizes.size(); ++i)
            fpr.push_back({{"n", kBucketSizes[i]}, {"fpr", rate_json(p.result.honest_fpr[i])}});
        pj["honest_pool_fpr"] = fpr;
        ojson cs = ojson::array();
        for (const ConfigResult &r : p.result.configs) {
            ojson c;
            c["name"] = r.name;
            c["role"] = r.honest ? "honest" : "deviation";
            c["duplicate_of"] = r.duplicate_of.empty() ? ojson(nullptr) : ojson(r.duplicate_of);
            c["tokens"] = r.tokens;
            c["sequences"] = r.sequences;
            c["mean_capped_margin"] = r.mean_capped_margin;
            c["exact_match_rate"] = r.exact_match_rate;
            c["mean_prob"] = r.mean_prob;
            if (r.honest) {
                c["accepted"] = r.accepted;
                if (r.unseen.evaluated)
                    c["unseen"] = {{"calibrated_without_this_config", true},
                                   {"accepted", r.unseen.accepted},
                                   {"max_fpr", r.unseen.max_fpr},
                                   {"calibrated", calibrated_json(r.unseen.calibrated, true)},
                                   {"sprt", sprt_json(r.unseen.sprt)}};
                else
                    c["unseen"] = nullptr;
            } else {
                c["tokens_needed"] = {{"logistic", needed_json(r.logistic_tokens_needed)},
                                      {"calibrated", needed_json(r.calibrated_tokens_needed)},
                                      {"logistic_point_estimate", needed_json(r.logistic_point_needed)},
                                      {"calibrated_point_estimate", needed_json(r.calibrated_point_needed)}};
                ojson lg = ojson::array();
                for (const LogisticAtN &l : r.logistic) {
                    ojson e = {{"n", l.n},
                               {"train_neg", l.train_neg},
                               {"train_pos", l.train_pos},
                               {"evaluated", l.evaluated}};
                    if (l.evaluated) {
                        e["auc"] = l.auc;
                        e["tpr"] = rate_json(l.tpr);
                        e["fpr"] = rate_json(l.fpr);
                        e["intercept_and_weights_fold0"] = l.weights;
                    }
                    lg.push_back(e);
                }
                c["logistic"] = lg;
            }
            c["calibrated"] = calibrated_json(r.calibrated, r.honest);
            c["sprt"] = sprt_json(r.sprt);
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
