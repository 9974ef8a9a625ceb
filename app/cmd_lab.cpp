// difr lab: run a detection lab (docs/lab.md): every configuration of a lab file generated and verified into
// a lab directory, which `difr analyze` turns into statistics and a report.
#include <cstdio>

#include "app.h"
#include "difr/lab.h"
#include "difr/lab_analysis.h"
#include "difr/lab_artifacts.h"
#include "difr/lab_fingerprints.h"

namespace difr::app {

namespace {

// What both kinds of lab need from the command line's world: model names, the derived-model cache, a log.
LabEnvironment lab_environment() {
    LabEnvironment env;
    env.model_resolve = model_resolve;
    env.derived_dir = models_dir() + "/derived";
    env.log = [](const std::string &line) {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
    };
    return env;
}

}  // namespace

void register_lab(CLI::App &app) {
    struct Opts {
        std::string file, out;
        int32_t threads = -1, n_prompts = -1, max_tokens = -1;
        bool artifacts = false, fingerprints = false, no_analysis = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "lab", "run a detection lab: generate with every configuration of a lab file and verify each");
    cmd->add_option("file", o->file, "lab file (TOML), e.g. data/lab/default.toml")->required();
    cmd->add_option("-o,--out", o->out, "lab directory (created; an existing one is resumed)")->required();
    cmd->add_option("-t,--threads", o->threads,
                    "CPU threads of the verifier and the provider (default: the "
                    "lab file's, else all cores)");
    cmd->add_option("--n-prompts", o->n_prompts, "override the lab file's n_prompts (a smaller run of a lab)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-tokens", o->max_tokens, "override the lab file's max_tokens")
        ->check(CLI::PositiveNumber);
    CLI::Option *artifacts = cmd->add_flag(
        "--artifacts", o->artifacts,
        "the file is an artifact lab (data/lab/artifacts.toml): which check of an inference artifact "
        "catches which prover (docs/lab.md)");
    cmd->add_flag("--fingerprints", o->fingerprints,
                  "the activation-proof lab instead (docs/fingerprints.md): Activation-DiFR, TOPLOC and "
                  "Token-DiFR on the same tokens, into OUT/fingerprints/")
        ->excludes(artifacts);
    cmd->add_flag("--no-analysis", o->no_analysis,
                  "run the configurations only, no results or report (a detection lab: `difr analyze OUT` "
                  "later; any lab: the same `difr lab` again, which resumes and analyses)");
    cmd->callback([o] {
        if (o->artifacts) {
            ArtifactLabSpec spec = artifact_lab_read(o->file);
            if (o->n_prompts > 0) spec.n_artifacts = o->n_prompts;
            if (o->max_tokens > 0) spec.max_tokens = o->max_tokens;
            if (o->threads > 0) {
                for (ArtifactScenario &s : spec.scenarios)
                    if (s.settings.n_threads == spec.settings.n_threads) s.settings.n_threads = o->threads;
                spec.settings.n_threads = o->threads;
            }
            const LabEnvironment env = lab_environment();
            std::fprintf(stderr, "artifact lab %s: %zu scenarios, %d artifacts x %d tokens -> %s\n",
                         spec.name.c_str(), spec.scenarios.size(), spec.n_artifacts, spec.max_tokens,
                         o->out.c_str());
            artifact_lab_run(spec, o->out, env);
            if (o->no_analysis) return;
            std::fputs(artifact_lab_analyze(o->out).c_str(), stdout);
            return;
        }
        LabSpec spec = lab_spec_read(o->file);
        if (o->n_prompts > 0) spec.n_prompts = o->n_prompts;
        if (o->max_tokens > 0) spec.max_tokens = o->max_tokens;
        if (o->threads > 0) {
            // Engine configurations that set their own thread count keep it (it is what they vary).
            for (LabConfig &c : spec.configs)
                if (c.settings.n_threads == spec.settings.n_threads) c.settings.n_threads = o->threads;
            spec.settings.n_threads = o->threads;
        }
        const LabEnvironment env = lab_environment();
        std::fprintf(stderr, "lab %s: %zu configurations, %d prompts x %d tokens -> %s\n", spec.name.c_str(),
                     spec.configs.size(), spec.n_prompts, spec.max_tokens, o->out.c_str());
        if (o->fingerprints) {
            fingerprint_lab_run(spec, o->out, env);
            if (o->no_analysis) return;
            std::fputs(fingerprint_lab_analyze(o->out).c_str(), stdout);
            std::printf("report: %s/fingerprints/report.html\n", o->out.c_str());
            return;
        }
        const LabRunStats st = lab_run(spec, o->out, env);
        std::printf("lab %s: %d configurations run, %d kept from an earlier run -> %s/lab.json\n",
                    spec.name.c_str(), st.configs_run, st.configs_resumed, o->out.c_str());
        if (o->no_analysis) return;

        // Both detection methods over everything the lab produced: results.json, results.md, report.html.
        std::fputs(lab_analyze_write(o->out).c_str(), stdout);
        std::printf("report: %s/report.html\n", o->out.c_str());
    });
}

}  // namespace difr::app
