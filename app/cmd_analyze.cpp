// difr analyze: the detection lab's statistics over a lab directory (results.json, results.md, report.html).
#include <cstdio>

#include "app.h"
#include "difr/lab_analysis.h"

namespace difr::app {

void register_analyze(CLI::App &app) {
    auto labdir = std::make_shared<std::string>();
    auto opts = std::make_shared<DetectOptions>();
    CLI::App *cmd = app.add_subcommand(
        "analyze",
        "detection statistics of a lab directory: tokens needed per deviation (DiFR's and difr's "
        "methods), honest variation accepted; writes results.json, results.md, report.html");
    cmd->add_option("labdir", *labdir, "directory written by `difr lab` (holds lab.json)")->required();
    cmd->add_option("--alpha", opts->alpha, "target false-positive rate")
        ->capture_default_str()
        ->check(CLI::Range(1e-6, 0.5));
    cmd->add_option("--target-tpr", opts->target_tpr, "TPR a deviation must reach to count as detected")
        ->capture_default_str()
        ->check(CLI::Range(0.5, 1.0));
    cmd->add_option("--rho", opts->rho, "contamination rate of the likelihood-ratio alternative")
        ->capture_default_str()
        ->check(CLI::Range(1e-4, 0.5));
    cmd->callback([labdir, opts] {
        const std::string md = lab_analyze_write(*labdir, *opts);
        std::fputs(md.c_str(), stdout);
        std::fprintf(stderr, "wrote %s/results.json, results.md, report.html\n", labdir->c_str());
    });
}

}  // namespace difr::app
