// The activation-proof lab's analysis: tokens needed for TPR >= 0.99 at FPR <= 1% per method and deviation,
// with DiFR's own detector (bucket means, logistic regression, ROC on held-out buckets; difr/stats.h and
// difr/buckets.h, as `difr analyze` runs it for Token-DiFR), bytes per token per method, and the report.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "difr/buckets.h"
#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/lab_fingerprints.h"
#include "difr/results.h"
#include "difr/stats.h"
#include "difr/svg.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr double kMantCap = 128.0;  // the package's 2^64 "no exponent matched" sentinel, capped above 127
const std::vector<int> kUnits = {1, 2, 3, 5, 10, 30, 100, 300, 1000};  // bucket sizes, in tokens or chunks

// One method's observations of one configuration: d features per unit (a token, or a TOPLOC chunk), split by
// sequence parity (even: train, odd: test), as the Token-DiFR analysis splits.
struct Units {
    std::vector<double> train, test;
    std::vector<TokenObs> obs_train, obs_test;  // Token-DiFR only
};

struct Method {
    std::string id, label, family;  // family: token-difr, activation-difr, toploc-token, toploc-chunk
    int32_t k = 0;
    size_t d = 1;
    double bytes_per_token = 0;
    int tokens_per_unit = 1;
};

struct ConfigData {
    std::string name, role, kind, description, rejected;
    std::map<std::string, Units> units;  // by method id
    int64_t tokens = 0;
};

double mant(const json &v) {
    return v.is_null() ? kMantCap : std::min(v.get<double>(), kMantCap);
}

std::vector<double> bucket_means(const std::vector<double> &rows, size_t d, size_t n) {
    const size_t units = rows.size() / d, buckets = units / n;
    std::vector<double> out(buckets * d, 0.0);
    for (size_t b = 0; b < buckets; ++b)
        for (size_t u = b * n; u < (b + 1) * n; ++u)
            for (size_t f = 0; f < d; ++f) out[b * d + f] += rows[u * d + f] / double(n);
    return out;
}

struct AtN {
    int n = 0, tokens = 0;
    bool evaluated = false;
    double auc = 0, tpr = 0;
};

// DiFR's detector at one bucket size: standardise on the training rows, fit, score held-out buckets.
AtN detect_at(const std::vector<double> &neg_train, const std::vector<double> &neg_test,
              const std::vector<double> &pos_train, const std::vector<double> &pos_test, size_t d) {
    AtN r;
    if (neg_train.empty() || neg_test.empty() || pos_train.empty() || pos_test.empty()) return r;
    std::vector<double> rows(neg_train);
    rows.insert(rows.end(), pos_train.begin(), pos_train.end());
    std::vector<int> labels(neg_train.size() / d, 0);
    labels.resize(rows.size() / d, 1);
    const Standardizer z = standardizer_fit(rows, d);
    const LogisticModel model = logistic_fit(z.apply(rows), d, labels, 1.0);
    auto scores = [&](const std::vector<double> &raw) {
        const std::vector<double> zr = z.apply(raw);
        std::vector<double> s(zr.size() / d);
        for (size_t i = 0; i < s.size(); ++i) s[i] = model.decision(std::span(zr).subspan(i * d, d));
        return s;
    };
    const std::vector<double> sn = scores(neg_test), sp = scores(pos_test);
    r.evaluated = true;
    r.auc = roc_auc(sn, sp);
    r.tpr = roc_tpr_at_fpr(sn, sp, 0.01).tpr;
    return r;
}

std::vector<Method> methods_of(const std::vector<int32_t> &ks, int32_t topk, int32_t chunk) {
    std::vector<Method> m;
    m.push_back({"token-difr", "Token-DiFR", "token-difr", 0, kBucketFeatures, 0.0, 1});
    for (int32_t k : ks)
        m.push_back({"adifr-" + std::to_string(k), "Activation-DiFR k=" + std::to_string(k),
                     "activation-difr", k, 1, 2.0 * k, 1});
    for (int32_t k : ks)
        m.push_back({"toploc1-" + std::to_string(k), "TOPLOC per token k=" + std::to_string(k),
                     "toploc-token", k, 3, 2.0 * k + 2.0, 1});
    m.push_back({"toploc-chunk",
                 "TOPLOC k=" + std::to_string(topk) + " per " + std::to_string(chunk) + " tokens",
                 "toploc-chunk", topk, 3, (2.0 * topk + 2.0) / chunk, chunk});
    return m;
}

ConfigData config_read(const std::string &path, const std::vector<Method> &methods, json &head_out) {
    std::ifstream in(path);
    if (!in) throw InputError("cannot read '" + path + "'");
    ConfigData c;
    std::string line;
    int64_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        const std::string where = path + ":" + std::to_string(lineno);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception &e) {  // parse errors, and numbers beyond double's range
            throw InputError(where + ": malformed JSON: " + e.what());
        }
        if (lineno == 1) {
            head_out = j;
            c.name = j.at("config");
            c.role = j.at("role");
            c.kind = j.at("kind");
            c.description = j.value("description", "");
            if (!j.at("rejected").is_null()) c.rejected = j.at("rejected");
            continue;
        }
        const bool train = j.at("seq").get<int64_t>() % 2 == 0;
        if (j.contains("chunk")) {
            const json &r = j.at("tl");
            Units &u = c.units["toploc-chunk"];
            for (double v : {r[0].get<double>(), mant(r[1]), mant(r[2])})
                (train ? u.train : u.test).push_back(v);
            continue;
        }
        ++c.tokens;
        TokenObs t;
        t.exact_match = j.at("em");
        t.prob = j.at("prob");
        t.margin = j.at("margin").is_null() ? INFINITY : j.at("margin").get<float>();
        (train ? c.units["token-difr"].obs_train : c.units["token-difr"].obs_test).push_back(t);
        if (!j.contains("l2")) continue;
        for (const Method &m : methods) {
            if (m.k == 0 || m.family == "toploc-chunk") continue;
            const size_t i = size_t(std::find(head_out.at("ks").begin(), head_out.at("ks").end(), m.k) -
                                    head_out.at("ks").begin());
            Units &u = c.units[m.id];
            auto &rows = train ? u.train : u.test;
            if (m.family == "activation-difr") {
                rows.push_back(j.at("l2").at(i).get<double>());
            } else {
                const json &r = j.at("tl").at(i);
                rows.push_back(r[0].get<double>());
                rows.push_back(mant(r[1]));
                rows.push_back(mant(r[2]));
            }
        }
    }
    return c;
}

std::vector<double> features(const Units &u, const Method &m, bool train, size_t n) {
    if (m.family == "token-difr") return bucket_features(train ? u.obs_train : u.obs_test, n);
    return bucket_means(train ? u.train : u.test, m.d, n);
}

std::string fmt_tokens(int t) {
    return t > 0 ? std::to_string(t) : "-";
}

}  // namespace

std::string fingerprint_lab_analyze(const std::string &out_dir) {
    const std::string dir = out_dir + "/fingerprints";
    const json index = json_parse_located<json>(file_read_text(dir + "/lab.json"), dir + "/lab.json");
    std::vector<ConfigData> configs;
    std::vector<Method> methods;
    json head0;
    for (const json &name : index.at("configs")) {
        json head;
        if (methods.empty()) {
            // the methods come from the first file's settings; every file of one lab shares them
            std::ifstream in(dir + "/" + name.get<std::string>() + ".jsonl");
            std::string first;
            std::getline(in, first);
            head0 = json::parse(first);
            methods = methods_of(head0.at("ks").get<std::vector<int32_t>>(), head0.at("toploc_topk"),
                                 head0.at("toploc_chunk"));
        }
        configs.push_back(config_read(dir + "/" + name.get<std::string>() + ".jsonl", methods, head));
        if (head.at("ks") != head0.at("ks"))
            throw InputError(dir + "/" + name.get<std::string>() +
                             ".jsonl: made with other k than the others");
    }
    // Per method: the honest pool's bucket rows, then each deviation against it.
    ojson results = ojson::array();
    std::map<std::string, std::map<std::string, int>> needed;   // method -> deviation -> tokens (0: no)
    std::map<std::string, std::map<std::string, double>> auc2;  // method -> deviation -> AUC at 2 tokens
    std::vector<std::string> deviations;
    for (const ConfigData &c : configs)
        if (c.role == "deviation") deviations.push_back(c.name);
    for (const Method &m : methods) {
        ojson mj = {{"method", m.id}, {"label", m.label}, {"bytes_per_token", m.bytes_per_token}};
        ojson devs = ojson::array();
        for (const ConfigData &dev : configs) {
            if (dev.role != "deviation") continue;
            ojson dj = {{"config", dev.name}};
            const bool activation = m.family != "token-difr";
            if (activation && !dev.rejected.empty()) {
                dj["rejected"] = dev.rejected;
                dj["tokens_needed"] = 0;
                needed[m.id][dev.name] = -1;
                devs.push_back(dj);
                continue;
            }
            ojson at = ojson::array();
            int found = 0;
            for (int n : kUnits) {
                std::vector<double> nt, ne;
                for (const ConfigData &h : configs) {
                    if (h.role != "honest" || !h.units.count(m.id)) continue;
                    const auto a = features(h.units.at(m.id), m, true, size_t(n)),
                               b = features(h.units.at(m.id), m, false, size_t(n));
                    nt.insert(nt.end(), a.begin(), a.end());
                    ne.insert(ne.end(), b.begin(), b.end());
                }
                if (!dev.units.count(m.id)) break;
                const AtN r = detect_at(nt, ne, features(dev.units.at(m.id), m, true, size_t(n)),
                                        features(dev.units.at(m.id), m, false, size_t(n)), m.d);
                if (!r.evaluated) break;
                const int tokens = n * m.tokens_per_unit;
                at.push_back({{"n", n}, {"tokens", tokens}, {"auc", r.auc}, {"tpr_at_fpr_0.01", r.tpr}});
                if (!found && r.tpr >= 0.99) found = tokens;
                if (n == 2 && m.tokens_per_unit == 1) auc2[m.id][dev.name] = r.auc;
            }
            dj["tokens_needed"] = found ? ojson(found) : ojson(nullptr);
            dj["by_bucket"] = at;
            needed[m.id][dev.name] = found;
            devs.push_back(dj);
        }
        mj["deviations"] = devs;
        results.push_back(mj);
    }
    ojson doc = {{"lab", index},
                 {"bucket_sizes", kUnits},
                 {"target", "TPR >= 0.99 at FPR <= 0.01"},
                 {"methods", results}};
    file_write_atomic(dir + "/results.json", doc.dump(2) + "\n");

    // results.md: tokens needed per method (rows) and deviation (columns), bytes per token.
    std::string md = "| method | bytes/token |";
    for (const std::string &d : deviations) md += " " + d + " |";
    md += "\n| --- | ---: |";
    for (size_t i = 0; i < deviations.size(); ++i) md += " ---: |";
    md += "\n";
    for (const Method &m : methods) {
        char b[32];
        std::snprintf(b, sizeof b, "%.3g", m.bytes_per_token);
        md += "| " + m.label + " | " + b + " |";
        for (const std::string &d : deviations) {
            const int t = needed[m.id][d];
            md += " " + (t < 0 ? std::string("refused") : fmt_tokens(t)) + " |";
        }
        md += "\n";
    }
    md +=
        "\nTokens a verifier needs for TPR >= 0.99 at FPR <= 1% (DiFR's detector: bucket means, logistic "
        "regression, ROC on held-out sequences); `-`: not reached with the lab's tokens; `refused`: the "
        "proofs "
        "do not fit the reference at all.\n";
    if (!auc2.empty()) {
        md += "\nAUC at 2 tokens:\n\n| method |";
        for (const std::string &d : deviations) md += " " + d + " |";
        md += "\n| --- |";
        for (size_t i = 0; i < deviations.size(); ++i) md += " ---: |";
        md += "\n";
        for (const Method &m : methods) {
            if (!auc2.count(m.id)) continue;
            md += "| " + m.label + " |";
            for (const std::string &d : deviations) {
                char b[32];
                if (auc2[m.id].count(d))
                    std::snprintf(b, sizeof b, "%.4f", auc2[m.id][d]);
                else
                    std::snprintf(b, sizeof b, "-");
                md += std::string(" ") + b + " |";
            }
            md += "\n";
        }
    }
    file_write_atomic(dir + "/results.md", md);

    // report.html: detection against bytes, one series per method family, one chart per deviation.
    std::string html = html_page_begin("activation proofs: detection against bytes");
    html +=
        "<p>Tokens needed for TPR &ge; 0.99 at FPR &le; 1% (log<sub>10</sub>, lower is better) against "
        "the bytes a prover sends per token (log scale). Token-DiFR sends only the tokens; it is drawn at "
        "0.5 bytes.</p>\n";
    const std::map<std::string, std::string> colors = {{"token-difr", "#55a868"},
                                                       {"activation-difr", "#4c72b0"},
                                                       {"toploc-token", "#c44e52"},
                                                       {"toploc-chunk", "#8172b2"}};
    for (const std::string &d : deviations) {
        std::map<std::string, SvgSeries> fam;
        for (const Method &m : methods) {
            const int t = needed[m.id][d];
            if (t <= 0) continue;
            SvgSeries &s = fam[m.family];
            s.name = m.family;
            s.color = colors.at(m.family);
            s.points.emplace_back(std::max(m.bytes_per_token, 0.5), std::log10(double(t)));
        }
        std::vector<SvgSeries> series;
        for (auto &[k, s] : fam) series.push_back(s);
        if (series.empty()) {
            html +=
                "<h2>" + xml_escape(d) + "</h2><p>Not detected by any method within the lab's tokens.</p>\n";
            continue;
        }
        ChartOptions opt;
        opt.title = d;
        opt.x_label = "bytes per token";
        opt.y_label = "log10 tokens needed";
        opt.log_x = true;
        html += "<h2>" + xml_escape(d) + "</h2>\n" + svg_line_chart(series, opt) + "\n";
    }
    html += "<h2>Table</h2>\n<pre>" + xml_escape(md) + "</pre>\n</body></html>\n";
    file_write_atomic(dir + "/report.html", html);
    return md;
}

}  // namespace difr
