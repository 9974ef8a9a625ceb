// The lab's tables (markdown for results.md and stdout, HTML for the report) and the HTML report with its
// SVG charts. Both renderings come from the same rows, so they cannot disagree.
#include <cmath>
#include <cstdio>

#include "difr/lab_analysis.h"
#include "difr/svg.h"

namespace difr {

namespace {

struct Table {
    std::string caption;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
};

std::string fmt(const char *f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// The largest bucket size at which a method could be evaluated for this config (0 if none).
int largest_evaluated(const ConfigResult &r, bool logistic) {
    int n = 0;
    if (logistic) {
        for (const LogisticAtN &l : r.logistic)
            if (l.evaluated) n = l.n;
    } else {
        for (const CalibratedAtN &c : r.calibrated)
            if (c.evaluated) n = c.n;
    }
    return n;
}

std::string tokens_needed(const ConfigResult &r, bool logistic) {
    const int needed = logistic ? r.logistic_tokens_needed : r.calibrated_tokens_needed;
    if (needed) return std::to_string(needed);
    const int largest = largest_evaluated(r, logistic);
    if (largest == 0) return "too few tokens";
    return "not detected within " + std::to_string(largest);
}

std::string sprt_cell(const SprtRun &s, bool honest) {
    if (s.decisions == 0) return "no decision (" + std::to_string(s.undecided_tokens) + " tokens)";
    const int64_t wrong = honest ? s.deviation_decisions : s.honest_decisions;
    return fmt("%.1f", s.mean_tokens()) + ", p99 " + std::to_string(s.p99_tokens) + " (" +
           std::to_string(wrong) + "/" + std::to_string(s.decisions) + (honest ? " alarms)" : " misses)");
}

const ConfigResult *find(const LabPass &p, const std::string &name) {
    for (const ConfigResult &r : p.result.configs)
        if (r.name == name) return &r;
    return nullptr;
}

std::vector<Table> lab_tables(const LabAnalysis &a) {
    std::vector<Table> tables;
    Table dev{
        "Tokens needed for TPR >= " + fmt("%.2f", a.options.target_tpr) +
            " at FPR <= " + fmt("%.0f%%", 100 * a.options.alpha) +
            " (bucket sizes 1, 3, 10, ..., 1000; held-out sequences); SPRT: mean and 99th percentile of the "
            "tokens to a decision (misses/decisions)",
        {"deviation"},
        {}};
    for (const LabPass &p : a.passes)
        for (const char *m : {"DiFR logistic", "difr calibrated", "difr SPRT"})
            dev.header.push_back(p.name + ": " + m);
    Table honest{
        "Honest variation at the calibrated thresholds (accepted: held-out FPR not significantly above " +
            fmt("%.0f%%", 100 * a.options.alpha) +
            " at any bucket size; SPRT: false alarms/decisions; unseen: the same with a calibration that "
            "leaves this configuration out)",
        {"honest config"},
        {}};
    for (const LabPass &p : a.passes)
        for (const char *m : {"accepted", "max FPR", "SPRT", "unseen"})
            honest.header.push_back(p.name + ": " + m);
    for (const LabConfigInfo &c : a.configs) {
        std::vector<std::string> row = {c.name};
        for (const LabPass &p : a.passes) {
            const ConfigResult *r = find(p, c.name);
            if (!r) {
                row.insert(row.end(), c.role == "honest" ? 4 : 3, "-");
                continue;
            }
            if (r->honest) {
                double worst = 0;
                for (const CalibratedAtN &k : r->calibrated)
                    if (k.evaluated) worst = std::max(worst, k.rate);
                const std::string unseen =
                    !r->unseen.evaluated ? "no other honest config"
                                         : std::string(r->unseen.accepted ? "yes" : "NO") + ", max FPR " +
                                               fmt("%.2f%%", 100 * r->unseen.max_fpr) + ", SPRT " +
                                               std::to_string(r->unseen.sprt.deviation_decisions) + "/" +
                                               std::to_string(r->unseen.sprt.decisions) + " alarms";
                row.insert(row.end(), {r->accepted ? "yes" : "NO", fmt("%.2f%%", 100 * worst),
                                       sprt_cell(r->sprt, true), unseen});
            } else {
                row.insert(row.end(),
                           {tokens_needed(*r, true), tokens_needed(*r, false), sprt_cell(r->sprt, false)});
            }
        }
        (c.role == "honest" ? honest : dev).rows.push_back(row);
    }
    tables.push_back(dev);
    tables.push_back(honest);
    for (const LabPass &p : a.passes) {
        Table t{"Pass " + p.name + ": AUC and TPR at FPR <= " + fmt("%.0f%%", 100 * a.options.alpha) +
                    " per bucket size n (DiFR logistic / difr calibrated); - where a side has no bucket",
                {"deviation"},
                {}};
        for (int n : kBucketSizes) t.header.push_back("n=" + std::to_string(n));
        for (const ConfigResult &r : p.result.configs) {
            if (r.honest) continue;
            std::vector<std::string> auc = {r.name + " AUC"}, tpr = {r.name + " TPR"};
            for (size_t i = 0; i < kBucketSizes.size(); ++i) {
                const LogisticAtN &l = r.logistic[i];
                const CalibratedAtN &k = r.calibrated[i];
                auc.push_back((l.evaluated ? fmt("%.3f", l.auc) : "-") + " / " +
                              (k.evaluated ? fmt("%.3f", k.auc) : "-"));
                tpr.push_back((l.evaluated ? fmt("%.3f", l.tpr) : "-") + " / " +
                              (k.evaluated ? fmt("%.3f", k.rate) : "-"));
            }
            t.rows.push_back(auc);
            t.rows.push_back(tpr);
        }
        tables.push_back(t);
    }
    return tables;
}

std::string table_markdown(const Table &t) {
    std::string s = t.caption + "\n\n|";
    for (const std::string &h : t.header) s += " " + h + " |";
    s += "\n|";
    for (size_t i = 0; i < t.header.size(); ++i) s += " --- |";
    s += "\n";
    for (const auto &row : t.rows) {
        s += "|";
        for (const std::string &cell : row) s += " " + cell + " |";
        s += "\n";
    }
    return s + "\n";
}

std::string table_html(const Table &t) {
    std::string s = "<table>\n<caption>" + xml_escape(t.caption) + "</caption>\n<tr>";
    for (const std::string &h : t.header) s += "<th>" + xml_escape(h) + "</th>";
    s += "</tr>\n";
    for (const auto &row : t.rows) {
        s += "<tr>";
        for (const std::string &cell : row) s += "<td>" + xml_escape(cell) + "</td>";
        s += "</tr>\n";
    }
    return s + "</table>\n";
}

constexpr const char *kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string pass_charts(const LabPass &p, const LabAnalysis &a) {
    std::vector<SvgBar> bars;
    for (const ConfigResult &r : p.result.configs)
        bars.push_back({r.name, r.mean_capped_margin, r.honest ? "#55a868" : "#c44e52"});
    ChartOptions bo;
    bo.title = "Mean Token-DiFR score per configuration (pass " + p.name + ")";
    bo.y_label = "mean margin, capped at 0.5";
    bo.width = std::max(520, 70 + 34 * int(bars.size()) + 150);
    std::string s = svg_bar_chart(bars, bo, {{"honest", "#55a868", false}, {"deviation", "#c44e52", false}});

    for (int metric = 0; metric < 2; ++metric) {
        std::vector<SvgSeries> series;
        size_t color = 0;
        for (const ConfigResult &r : p.result.configs) {
            if (r.honest) continue;
            const std::string col = kPalette[color++ % std::size(kPalette)];
            SvgSeries lg{r.name + " (DiFR logistic)", {}, col, false};
            SvgSeries cal{r.name + " (difr calibrated)", {}, col, true};
            for (size_t i = 0; i < kBucketSizes.size(); ++i) {
                const LogisticAtN &l = r.logistic[i];
                const CalibratedAtN &k = r.calibrated[i];
                const double x = kBucketSizes[i];
                lg.points.emplace_back(x, l.evaluated ? (metric ? l.tpr : l.auc) : NAN);
                cal.points.emplace_back(x, k.evaluated ? (metric ? k.rate : k.auc) : NAN);
            }
            series.push_back(lg);
            series.push_back(cal);
        }
        if (series.empty()) break;
        ChartOptions lo;
        lo.title = std::string(metric ? "TPR at FPR <= " + fmt("%.0f%%", 100 * a.options.alpha) : "AUC") +
                   " against tokens (pass " + p.name + ")";
        lo.x_label = "tokens per bucket (log scale)";
        lo.y_label = metric ? "TPR" : "AUC";
        lo.log_x = true;
        lo.y_min = metric ? 0.0 : 0.5;
        lo.y_max = 1.0;
        lo.width = 860;
        lo.height = std::max(340, 60 + 16 * int(series.size()));
        s += svg_line_chart(series, lo);
    }
    return s;
}

}  // namespace

std::string lab_results_markdown(const LabAnalysis &a) {
    std::string s = "# Detection lab: " + a.lab + "\n\n";
    for (const Table &t : lab_tables(a)) s += table_markdown(t);
    return s;
}

std::string lab_report_html(const LabAnalysis &a) {
    std::string s =
        html_page_begin("Detection lab: " + a.lab) +
        "<p>DiFR logistic: bucket means of capped margin, prob and exact match, logistic regression "
        "trained "
        "per deviation (solid lines). difr calibrated: bucket mean of a per-token likelihood ratio against "
        "honest "
        "behaviour, thresholded at a level calibrated on honest data only (dashed lines); SPRT: the same "
        "ratio "
        "accumulated token by token. Even sequences train and calibrate, odd sequences are held out. See "
        "docs/statistics.md.</p>\n";
    const std::vector<Table> tables = lab_tables(a);
    s += table_html(tables[0]) + table_html(tables[1]);
    for (size_t i = 0; i < a.passes.size(); ++i) {
        s += "<h2>Pass " + xml_escape(a.passes[i].name) + "</h2>\n" + pass_charts(a.passes[i], a);
        s += table_html(tables[2 + i]);
    }
    return s + "</body>\n</html>\n";
}

}  // namespace difr
