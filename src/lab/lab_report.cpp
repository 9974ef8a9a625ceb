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

// "0.995 (0.987-1.000; 566)": the rate, its interval (the wider of Clopper-Pearson and the bootstrap) and the
// number of held-out buckets behind it.
std::string rate_cell(const Rate &r) {
    if (r.m == 0) return "-";
    return fmt("%.3f", r.value) + " (" + fmt("%.3f", r.lo()) + "-" + fmt("%.3f", r.hi()) + "; " +
           std::to_string(r.m) + ")";
}

std::string tokens_needed(int needed, int point) {
    if (needed) return std::to_string(needed);
    return "not resolvable at this size" + (point ? " (point estimate: " + std::to_string(point) + ")" : "");
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

std::string name_cell(const LabPass *any, const std::string &name) {
    const ConfigResult *r = any ? find(*any, name) : nullptr;
    return r && !r->duplicate_of.empty() ? name + " (= " + r->duplicate_of + ")" : name;
}

// The honest configuration's worst bucket size: its largest held-out FPR.
const CalibratedAtN *worst_fpr(const std::vector<CalibratedAtN> &rates) {
    const CalibratedAtN *worst = nullptr;
    for (const CalibratedAtN &k : rates)
        if (k.evaluated && (!worst || k.rate.value > worst->rate.value)) worst = &k;
    return worst;
}

std::vector<Table> lab_tables(const LabAnalysis &a) {
    std::vector<Table> tables;
    Table dev{
        "Tokens needed: the smallest bucket size n whose TPR lower bound is >= " +
            fmt("%.2f", a.options.target_tpr) + " at an FPR whose upper bound is <= " +
            fmt("%.0f%%", 100 * a.options.alpha) + " (" + fmt("%.0f%%", 100 * a.options.level) +
            " intervals: the wider of Clopper-Pearson and a bootstrap over prompts; held-out buckets of "
            "both folds); SPRT: mean and 99th percentile of the tokens to a decision (misses/decisions)",
        {"deviation"},
        {}};
    for (const LabPass &p : a.passes)
        for (const char *m : {"DiFR logistic", "difr calibrated", "difr SPRT"})
            dev.header.push_back(p.name + ": " + m);
    Table honest{
        "Honest variation at the calibrated thresholds (accepted: held-out FPR not significantly above " +
            fmt("%.0f%%", 100 * a.options.alpha) +
            " at any bucket size; worst FPR with its interval and bucket count; SPRT: false "
            "alarms/decisions; unseen: the same with a calibration that leaves this configuration "
            "(and any identical to it) out)",
        {"honest config"},
        {}};
    for (const LabPass &p : a.passes)
        for (const char *m : {"accepted", "worst FPR", "SPRT", "unseen"})
            honest.header.push_back(p.name + ": " + m);
    for (const LabConfigInfo &c : a.configs) {
        const LabPass *first = nullptr;
        for (const LabPass &p : a.passes)
            if (!first && find(p, c.name)) first = &p;
        std::vector<std::string> row = {name_cell(first, c.name)};
        for (const LabPass &p : a.passes) {
            const ConfigResult *r = find(p, c.name);
            if (!r) {
                row.insert(row.end(), c.role == "honest" ? 4 : 3, "-");
                continue;
            }
            if (r->honest) {
                const CalibratedAtN *w = worst_fpr(r->calibrated);
                const std::string worst = w ? rate_cell(w->rate) + " at n=" + std::to_string(w->n) : "-";
                const std::string unseen =
                    !r->unseen.evaluated ? "no other honest config"
                                         : std::string(r->unseen.accepted ? "yes" : "NO") + ", max FPR " +
                                               fmt("%.2f%%", 100 * r->unseen.max_fpr) + ", SPRT " +
                                               std::to_string(r->unseen.sprt.deviation_decisions) + "/" +
                                               std::to_string(r->unseen.sprt.decisions) + " alarms";
                row.insert(row.end(), {r->accepted ? "yes" : "NO", worst, sprt_cell(r->sprt, true), unseen});
            } else {
                row.insert(row.end(), {tokens_needed(r->logistic_tokens_needed, r->logistic_point_needed),
                                       tokens_needed(r->calibrated_tokens_needed, r->calibrated_point_needed),
                                       sprt_cell(r->sprt, false)});
            }
        }
        (c.role == "honest" ? honest : dev).rows.push_back(row);
    }
    tables.push_back(dev);
    tables.push_back(honest);
    for (const LabPass &p : a.passes) {
        Table t{"Pass " + p.name +
                    ": per bucket size n, rate (interval; held-out buckets). AUC: DiFR logistic / "
                    "difr calibrated. TPR and FPR of DiFR's logistic regression at its operating "
                    "point; TPR of difr's calibrated threshold, whose FPR is the honest pool's",
                {"deviation"},
                {}};
        for (int n : kBucketSizes) t.header.push_back("n=" + std::to_string(n));
        std::vector<std::string> pool = {"honest pool FPR (difr calibrated)"};
        for (const Rate &r : p.result.honest_fpr) pool.push_back(rate_cell(r));
        t.rows.push_back(pool);
        for (const ConfigResult &r : p.result.configs) {
            if (r.honest) continue;
            std::vector<std::string> auc = {r.name + " AUC"}, ltpr = {r.name + " TPR, DiFR"},
                                     lfpr = {r.name + " FPR, DiFR"}, ctpr = {r.name + " TPR, difr"};
            for (size_t i = 0; i < kBucketSizes.size(); ++i) {
                const LogisticAtN &l = r.logistic[i];
                const CalibratedAtN &k = r.calibrated[i];
                auc.push_back((l.evaluated ? fmt("%.3f", l.auc) : "-") + " / " +
                              (k.evaluated && std::isfinite(k.auc) ? fmt("%.3f", k.auc) : "-"));
                ltpr.push_back(l.evaluated ? rate_cell(l.tpr) : "-");
                lfpr.push_back(l.evaluated ? rate_cell(l.fpr) : "-");
                ctpr.push_back(k.evaluated ? rate_cell(k.rate) : "-");
            }
            for (auto *row : {&auc, &ltpr, &lfpr, &ctpr}) t.rows.push_back(*row);
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

// The mean Token-DiFR score per configuration, then one small AUC-against-tokens panel per deviation: both
// methods in it, and the band of AUCs that honest variation reaches when it is judged by a calibration that
// never saw it (leave one configuration out), so a reader sees at once whether a deviation rises above it.
std::string pass_charts(const LabPass &p) {
    std::vector<SvgBar> bars;
    for (const ConfigResult &r : p.result.configs)
        bars.push_back({r.name, r.mean_capped_margin, r.honest ? "#55a868" : "#c44e52"});
    ChartOptions bo;
    bo.title = "Mean Token-DiFR score per configuration (pass " + p.name + ")";
    bo.y_label = "mean margin, capped at 0.5";
    bo.width = std::max(520, 70 + 34 * int(bars.size()) + 150);
    std::string s = svg_bar_chart(bars, bo, {{"honest", "#55a868", false}, {"deviation", "#c44e52", false}});

    SvgBand band{"honest variation (unseen, min-max)", {}, "#9ecae1"};
    for (size_t i = 0; i < kBucketSizes.size(); ++i) {
        double lo = INFINITY, hi = -INFINITY;
        for (const ConfigResult &r : p.result.configs)
            if (r.honest && r.duplicate_of.empty() && r.unseen.evaluated &&
                r.unseen.calibrated[i].evaluated && std::isfinite(r.unseen.calibrated[i].auc))
                lo = std::min(lo, r.unseen.calibrated[i].auc), hi = std::max(hi, r.unseen.calibrated[i].auc);
        band.points.push_back(
            {double(kBucketSizes[i]), std::isfinite(lo) ? lo : NAN, std::isfinite(hi) ? hi : NAN});
    }
    const std::vector<SvgBand> bands = {band};
    s += "<h3>AUC against tokens per bucket, one panel per deviation (pass " + xml_escape(p.name) +
         ")</h3>\n" +
         svg_legend({{"DiFR logistic", "#1f77b4", false}, {"difr calibrated", "#d62728", true}}, 320, bands) +
         "<div class=\"panels\">\n";
    for (const ConfigResult &r : p.result.configs) {
        if (r.honest) continue;
        SvgSeries lg{"DiFR logistic", {}, "#1f77b4", false}, cal{"difr calibrated", {}, "#d62728", true};
        for (size_t i = 0; i < kBucketSizes.size(); ++i) {
            const LogisticAtN &l = r.logistic[i];
            const CalibratedAtN &k = r.calibrated[i];
            const double x = kBucketSizes[i];
            lg.points.emplace_back(x, l.evaluated ? l.auc : NAN);
            cal.points.emplace_back(x, k.evaluated && std::isfinite(k.auc) ? k.auc : NAN);
        }
        ChartOptions o;
        o.title = r.name;
        o.x_label = "tokens per bucket";
        o.y_label = "AUC";
        o.log_x = true;
        o.y_min = 0.4;
        o.y_max = 1.0;
        o.width = 300;
        o.height = 210;
        o.legend = false;
        s += svg_line_chart({lg, cal}, o, bands);
    }
    return s + "</div>\n";
}

}  // namespace

std::string lab_results_markdown(const LabAnalysis &a) {
    std::string s = "# Detection lab: " + a.lab + "\n\n";
    for (const Table &t : lab_tables(a)) s += table_markdown(t);
    return s;
}

std::string lab_report_html(const LabAnalysis &a) {
    std::string s =
        html_page_begin(
            "Detection lab: " + a.lab,
            ".panels { display: flex; flex-wrap: wrap; gap: 4px; }\n.panels svg { margin: 0; }\n") +
        "<p>DiFR logistic: bucket means of capped margin, prob and exact match, logistic regression "
        "trained "
        "per deviation (solid lines). difr calibrated: bucket mean of a per-token likelihood ratio against "
        "honest "
        "behaviour, thresholded at a level calibrated on honest data only (dashed lines); SPRT: the same "
        "ratio "
        "accumulated token by token. Two folds (even sequences train and odd ones are held out, then the "
        "reverse); every rate comes with its 95% interval (the wider of Clopper-Pearson and a bootstrap over "
        "prompts) and the number of held-out buckets behind it. See docs/statistics.md.</p>\n";
    const std::vector<Table> tables = lab_tables(a);
    s += table_html(tables[0]) + table_html(tables[1]);
    for (size_t i = 0; i < a.passes.size(); ++i) {
        s += "<h2>Pass " + xml_escape(a.passes[i].name) + "</h2>\n" + pass_charts(a.passes[i]);
        s += table_html(tables[2 + i]);
    }
    return s + "</body>\n</html>\n";
}

}  // namespace difr
