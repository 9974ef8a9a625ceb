// difr audit-report: renders the HTML report of a provider audit from its audit_results.json (difr audit
// writes OUT/report.html itself; this re-renders it, e.g. with another threshold or from token-difr's file).
#include <cstdio>
#include <filesystem>

#include "app.h"
#include "difr/audit_report.h"

namespace difr::app {

void register_audit_report(CLI::App &app) {
    struct Opts {
        std::string results, out;
        double threshold = -1.0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "audit-report", "render the HTML report of a provider audit from its audit_results.json");
    cmd->add_option("results", o->results, "audit_results.json written by `difr audit` (or token-difr)")
        ->required();
    cmd->add_option("-o,--out", o->out, "HTML file to write (default: report.html beside RESULTS)");
    cmd->add_option("--threshold,--fail-below", o->threshold,
                    "mark providers whose exact-match rate is below this fraction, e.g. 0.95")
        ->check(CLI::Range(0.0, 1.0));
    cmd->callback([o] {
        const std::string out =
            o->out.empty() ? (std::filesystem::path(o->results).parent_path() / "report.html").string()
                           : o->out;
        AuditReportOptions options;
        if (o->threshold >= 0) options.threshold = o->threshold;
        audit_report_write(o->results, out, options);
        std::fprintf(stderr, "wrote %s\n", out.c_str());
    });
}

}  // namespace difr::app
