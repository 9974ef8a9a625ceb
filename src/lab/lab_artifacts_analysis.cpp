// The artifact lab's detection table: per draw, length and check, a threshold calibrated on the honest
// artifacts (reference and honest variations pooled) so that at most 1% of them are rejected, and the share
// of each scenario's artifacts it rejects.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/lab_artifacts.h"
#include "difr/results.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct Check {
    const char *key;    // the stats field
    const char *title;  // for the table
    bool higher_honest;
    const char *draw;  // "gumbel", "weighted" or "" (both)
};

const Check kChecks[] = {
    {"gonka_similarity", "Gonka similarity (calibrated)", true, ""},
    {"mean_logprob", "joint probability (mean log P per token)", true, ""},
    {"exact_match_rate", "Token-DiFR exact-match rate", true, "gumbel"},
    {"mae", "MAE over the top-k (PR #1448 Stage 2)", false, "weighted"},
};

struct Row {
    std::string scenario, role, draw;
    int length = 0;
    nlohmann::json j;
};

std::string pct(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.0f%%", 100.0 * x);
    return b;
}

}  // namespace

std::string artifact_lab_analyze(const std::string &out_dir) {
    std::vector<Row> rows;
    std::vector<std::string> order;  // scenarios in lab.json order
    const nlohmann::json lab =
        json_parse_located(file_read_text(out_dir + "/lab.json", "lab"), out_dir + "/lab.json");
    std::map<std::string, std::string> roles, draws, descriptions;
    for (const auto &s : lab["scenarios"]) {
        const std::string name = s["name"];
        order.push_back(name);
        roles[name] = s["role"];
        draws[name] = s["draw"];
        descriptions[name] = s["description"];
        const std::string path = out_dir + "/stats/" + name + ".jsonl";
        if (!fs::is_regular_file(path)) continue;
        jsonl_for_each(file_read_text(path, "stats"), path,
                       [&](const nlohmann::json &j, const std::string &) {
                           rows.push_back({j["scenario"], j["role"], j["draw"], j["length"].get<int>(), j});
                       });
    }
    std::vector<int> lengths;
    for (const auto &l : lab["lengths"]) lengths.push_back(l.get<int>());
    ojson results;
    results["lab"] = lab["lab"];
    results["rule"] =
        "per draw, length and check: the threshold that rejects at most 1% of the honest artifacts "
        "(reference and honest variations pooled; floor(0.01 n) of n may fall beyond it)";
    std::ostringstream md;
    md << "# Artifact lab " << lab["lab"].get<std::string>() << "\n\n";
    md << "Detection rate of each check at a threshold calibrated on the honest artifacts to FPR <= 1% (rows "
          "of "
          "honest scenarios: their false-rejection rate). Columns: tokens per artifact.\n";
    ojson tables = ojson::array();
    for (const std::string draw : {"gumbel", "weighted"}) {
        bool any = false;
        for (const Row &r : rows) any = any || r.draw == draw;
        if (!any) continue;
        md << "\n## "
           << (draw == std::string("gumbel") ? "Provers sampling with the noise profile (no seed proof)"
                                             : "Provers with the weighted seed proof (PR #1448 draw)")
           << "\n";
        struct Col {
            std::string title;
            std::function<std::optional<bool>(const Row &, int)> reject;  // nullopt: not applicable
            std::map<int, std::string> calib;
        };
        std::vector<Col> cols;
        for (const Check &c : kChecks) {
            if (*c.draw && draw != std::string(c.draw)) continue;
            Col col;
            col.title = c.title;
            std::map<int, double> thr;
            for (int L : lengths) {
                std::vector<double> honest;
                for (const Row &r : rows)
                    if (r.draw == draw && r.length == L && r.role == "honest" && r.j.contains(c.key))
                        honest.push_back(c.higher_honest ? r.j[c.key].get<double>()
                                                         : -r.j[c.key].get<double>());
                if (honest.empty()) continue;
                std::sort(honest.begin(), honest.end());
                const size_t f = (size_t)std::floor(0.01 * (double)honest.size());
                thr[L] = honest[f];
                char b[160];
                std::snprintf(b, sizeof b, "%s %.6g (n honest %zu, %zu may fall beyond)",
                              c.higher_honest ? ">=" : "<=", c.higher_honest ? honest[f] : -honest[f],
                              honest.size(), f);
                col.calib[L] = b;
            }
            const Check cc = c;
            col.reject = [thr, cc](const Row &r, int L) -> std::optional<bool> {
                auto it = thr.find(L);
                if (it == thr.end() || !r.j.contains(cc.key)) return std::nullopt;
                const double v = cc.higher_honest ? r.j[cc.key].get<double>() : -r.j[cc.key].get<double>();
                return v < it->second;
            };
            cols.push_back(std::move(col));
        }
        cols.push_back({"Gonka similarity > 0.98 (mainnet, fixed)",
                        [](const Row &r, int) -> std::optional<bool> {
                            return !(r.j["gonka_similarity"].get<double>() > 0.98);
                        },
                        {}});
        if (draw == std::string("weighted")) {
            cols.push_back({"seed proof, sequence check (exact replay)",
                            [](const Row &r, int) -> std::optional<bool> { return r.j["seed"] == "fraud"; },
                            {}});
            // Stage 1 and Stage 2 together: the replay, then the calibrated MAE.
            const auto mae_col = std::find_if(cols.begin(), cols.end(),
                                              [](const Col &c) { return c.title.rfind("MAE", 0) == 0; });
            if (mae_col != cols.end()) {
                auto mae = mae_col->reject;
                cols.push_back({"seed proof + MAE (both stages)",
                                [mae](const Row &r, int L) -> std::optional<bool> {
                                    auto m = mae(r, L);
                                    if (!m) return std::nullopt;
                                    return r.j["seed"] == "fraud" || *m;
                                },
                                {}});
            }
        }
        for (const Col &col : cols) {
            md << "\n### " << col.title << "\n\n| scenario | role |";
            for (int L : lengths) md << " " << L << " |";
            md << "\n|---|---|";
            for (size_t i = 0; i < lengths.size(); ++i) md << "---:|";
            md << "\n";
            ojson table;
            table["draw"] = draw;
            table["check"] = col.title;
            table["thresholds"] = ojson::object();
            for (const auto &[L, s] : col.calib) table["thresholds"][std::to_string(L)] = s;
            table["rates"] = ojson::object();
            for (const std::string &sc : order) {
                if (draws[sc] != draw) continue;
                md << "| " << sc << " | " << roles[sc] << " |";
                for (int L : lengths) {
                    size_t n = 0, rej = 0;
                    for (const Row &r : rows)
                        if (r.scenario == sc && r.length == L)
                            if (auto x = col.reject(r, L)) {
                                ++n;
                                rej += *x;
                            }
                    if (n == 0) {
                        md << " - |";
                        continue;
                    }
                    md << " " << pct((double)rej / (double)n) << " (" << rej << "/" << n << ") |";
                    table["rates"][sc][std::to_string(L)] = {{"rejected", rej}, {"n", n}};
                }
                md << "\n";
            }
            if (!col.calib.empty()) {
                md << "\nThresholds:";
                for (const auto &[L, s] : col.calib) md << " " << L << " tokens " << s << ";";
                md << "\n";
            }
            tables.push_back(table);
        }
    }
    double total = 0;
    if (lab.contains("seconds"))
        for (const auto &[name, secs] : lab["seconds"].items())
            if (secs.is_number()) total += secs.get<double>();
    char wall[160];
    std::snprintf(wall, sizeof wall,
                  "\nWall time of the scenarios run last: %.0f s (per scenario in lab.json).\n", total);
    md << wall;
    md << "\nScenarios:\n\n";
    for (const std::string &sc : order)
        md << "- `" << sc << "` (" << roles[sc] << ", " << draws[sc] << "): " << descriptions[sc] << "\n";
    results["tables"] = tables;
    file_write_atomic(out_dir + "/results.json", results.dump(2) + "\n");
    file_write_atomic(out_dir + "/results.md", md.str());
    return md.str();
}

}  // namespace difr
