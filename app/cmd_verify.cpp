// difr verify: re-score claimed tokens with the local reference and report Token-DiFR metrics.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/error.h"
#include "difr/results.h"
#include "difr/verify.h"

namespace difr::app {

void register_verify(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        SamplingOptions sampling;
        std::string input, out;
        double fail_below = -1.0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand("verify", "verify token sequences against a local reference model");
    add_engine_options(*cmd, o->engine);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("-i,--input", o->input, "sequences: token-difr list or vLLM-style samples")->required();
    cmd->add_option("-o,--out", o->out, "output directory for tokens.jsonl and summary.json")->required();
    cmd->add_option("--fail-below", o->fail_below,
                    "exit with status 1 if the exact-match rate is below this");
    cmd->callback([o] {
        const SequenceFile file = sequences_read(o->input);
        auto model = Model::load(model_resolve(o->engine.model), o->engine.settings);
        std::error_code ec;
        std::filesystem::create_directories(o->out, ec);
        if (ec) throw InputError("cannot create output directory '" + o->out + "': " + ec.message());
        TokenMetricsWriter writer(o->out + "/tokens.jsonl");

        VerifyOptions v;
        v.sampling = o->sampling.params;
        v.noise = o->sampling.profile();
        ProgressBar bar("verify", file.sequences.size());
        const VerifyResult r = verify_sequences(*model, o->engine.settings, file.sequences, v, &writer,
                                                [&](size_t done, size_t) { bar.update(done); });
        bar.finish();

        nlohmann::ordered_json prov =
            nlohmann::ordered_json::parse(provenance_json(*model, o->engine.settings, o->sampling));
        prov["input"] = o->input;
        prov["tokens_evaluated"] = r.stats.tokens_evaluated;
        prov["decode_calls"] = r.stats.decode_calls;
        prov["seconds"] = r.seconds;
        file_write_atomic(o->out + "/summary.json", summary_to_json(r.summary, prov.dump()));

        if (r.summary.skipped_sequences > 0)
            std::fprintf(stderr, "difr: skipped %lld sequences with empty outputs\n",
                         (long long)r.summary.skipped_sequences);
        std::printf("%s\n", summary_audit_line(r.summary).c_str());
        std::printf(
            "  avg_prob %.4f  avg_margin %.4f (%.2f%% infinite)  avg_logit_rank %.3f  %.0f tok/s -> %s\n",
            r.summary.avg_prob, r.summary.avg_margin, 100.0 * r.summary.infinite_margin_rate,
            r.summary.avg_logit_rank, r.stats.tokens_evaluated / std::max(r.seconds, 1e-9), o->out.c_str());
        if (o->fail_below >= 0 && r.summary.exact_match_rate < o->fail_below) {
            std::fprintf(stderr, "difr: exact-match rate %.4f is below %.4f\n", r.summary.exact_match_rate,
                         o->fail_below);
            std::exit(1);
        }
    });
}

}  // namespace difr::app
