// difr validate: check inference artifacts (docs/artifacts.md) - against a reference model (Gonka's
// similarity, joint probability, the seed proof, Token-DiFR on the same tokens) or, with --against, against
// a second artifact offline as Gonka's validator compares the executor's response with its own.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/artifact_validate.h"
#include "difr/error.h"
#include "difr/reference.h"
#include "difr/results.h"

namespace difr::app {

void register_validate(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        std::string artifact, against, out, preset = "mainnet", noise = "vllm", reference = "local";
        RemoteReferenceOptions remote;
        HttpOptions http;
        double gonka_threshold = -1, joint_threshold = NAN, difr_threshold = NAN;
        bool no_difr = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "validate",
        "validate inference artifacts: Gonka's similarity, joint probability, seed proof, Token-DiFR");
    cmd->add_option("--artifact", o->artifact, "the prover's artifact (difr JSON or an OpenAI response)")
        ->required();
    cmd->add_option("--against", o->against,
                    "a second artifact (the validator's response): compare offline, no model needed");
    add_engine_options(*cmd, o->engine);
    cmd->add_option("--gonka-preset", o->preset, "threshold preset: mainnet 0.98, pr132 0.95, testnet 0.85")
        ->check(CLI::IsMember({"mainnet", "pr132", "testnet"}))
        ->capture_default_str();
    cmd->add_option("--gonka-threshold", o->gonka_threshold,
                    "a threshold of your own (passes when similarity > it)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--joint-threshold", o->joint_threshold,
                    "minimum mean log P(token | prefix) per token (calibrate with `difr lab --artifacts`)");
    cmd->add_option("--difr-threshold", o->difr_threshold, "minimum Token-DiFR exact-match rate")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--noise", o->noise, "Token-DiFR's noise profile (by name)")->capture_default_str();
    cmd->add_flag("--no-token-difr", o->no_difr, "skip Token-DiFR (one scoring pass instead of two)");
    cmd->add_option("-o,--out", o->out, "also write the report here (written whole once complete)");
    cmd->add_option(
           "--reference", o->reference,
           "local (the engine), or a remote prompt-logprob reference: fireworks=URL or vllm=URL (its "
           "own top-k per position; -m is loaded for its vocabulary only)")
        ->capture_default_str();
    add_remote_reference_options(
        *cmd, o->remote, "model name at the remote reference (default: the GGUF file name without .gguf)");
    add_http_options(*cmd, o->http);
    cmd->callback([o] {
        ValidateOptions vo;
        validate_options_preset(vo, o->preset);
        if (o->gonka_threshold >= 0) {
            vo.gonka_threshold = o->gonka_threshold;
            vo.gonka_threshold_source = "--gonka-threshold";
        }
        if (!std::isnan(o->joint_threshold)) {
            vo.joint_threshold = o->joint_threshold;
            vo.joint_threshold_source = "--joint-threshold";
        }
        if (!std::isnan(o->difr_threshold)) {
            vo.difr_threshold = o->difr_threshold;
            vo.difr_threshold_source = "--difr-threshold";
        }
        vo.noise = o->noise;
        vo.token_difr = !o->no_difr;

        const Artifact a = artifact_read(o->artifact);
        std::string report;
        if (!o->against.empty()) {
            report = artifact_validate_against(a, artifact_read(o->against), vo);
        } else {
            const std::string model_path = model_resolve(o->engine.model);
            const ReferenceSpec ref = reference_spec_parse(
                o->reference,
                o->remote.model.empty() ? std::filesystem::path(model_path).stem().string() : o->remote.model,
                o->remote.key_env, o->remote.topk);
            auto model = Model::load(model_path, o->engine.settings,
                                     /*vocab_only=*/ref.kind == ReferenceSpec::Kind::remote);
            report = artifact_validate(a, *model, o->engine.settings, ref, vo, o->http);
        }
        if (!o->out.empty()) file_write_atomic(o->out, report);
        std::fputs(report.c_str(), stdout);
        const nlohmann::json j = nlohmann::json::parse(report);
        std::fprintf(stderr,
                     "validated %zu sequences of %s: gonka_similarity %s (threshold %.4g), seed proof %s\n",
                     a.sequences.size(), o->artifact.c_str(), j["gonka_similarity"].dump().c_str(),
                     vo.gonka_threshold, j["pooled"]["seed_proof"].dump().c_str());
    });
}

}  // namespace difr::app
