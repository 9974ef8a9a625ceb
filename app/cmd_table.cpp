// difr table: summaries side by side, one column per run.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"

namespace difr::app {

void register_table(CLI::App &app) {
    auto runs = std::make_shared<std::vector<std::string>>();
    CLI::App *cmd = app.add_subcommand("table", "print verification summaries side by side");
    cmd->add_option("runs", *runs, "LABEL=DIR/summary.json (or LABEL=DIR)")->required();
    cmd->callback([runs] {
        std::vector<std::string> labels, paths;
        std::vector<nlohmann::json> sums;
        for (const std::string &r : *runs) {
            const auto eq = r.find('=');
            std::string label = eq == std::string::npos ? r : r.substr(0, eq);
            std::string path = eq == std::string::npos ? r : r.substr(eq + 1);
            if (std::filesystem::is_directory(path)) path += "/summary.json";
            sums.push_back(json_parse_located(file_read_text(path, "summary"), path));
            if (!sums.back().is_object()) throw InputError(path + ": expected a summary object");
            labels.push_back(label);
            paths.push_back(path);
        }
        const int w = 16;
        std::printf("%-22s", "");
        for (const auto &l : labels) std::printf("%*s", w, l.c_str());
        std::printf("\n");
        auto row = [&](const char *name, const char *key, bool percent, int digits) {
            std::printf("%-22s", name);
            for (size_t i = 0; i < sums.size(); ++i) {
                const nlohmann::json &s = sums[i];
                const nlohmann::json &v = s.contains(key) ? s[key] : nlohmann::json();
                if (!v.is_null() && !v.is_number())
                    throw InputError(paths[i] + ": field '" + key + "' must be a number or null (got " +
                                     v.dump().substr(0, 40) + ")");
                char cell[64];
                if (v.is_null())
                    std::snprintf(cell, sizeof cell, "inf");
                else if (percent)
                    std::snprintf(cell, sizeof cell, "%.*f%%", digits, 100.0 * v.get<double>());
                else
                    std::snprintf(cell, sizeof cell, "%.*f", digits, v.get<double>());
                std::printf("%*s", w, cell);
            }
            std::printf("\n");
        };
        row("exact_match_rate", "exact_match_rate", true, 2);
        row("avg_prob", "avg_prob", false, 4);
        row("avg_margin", "avg_margin", false, 4);
        row("infinite_margin_rate", "infinite_margin_rate", true, 2);
        row("avg_logit_rank", "avg_logit_rank", false, 3);
        row("avg_logprob", "avg_logprob", false, 4);
        row("total_tokens", "total_tokens", false, 0);
        row("n_sequences", "n_sequences", false, 0);
    });
}

}  // namespace difr::app
