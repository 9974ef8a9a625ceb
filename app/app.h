// The difr command line: each subcommand parses its options, calls the library and prints.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "difr/fingerprint_proofs.h"
#include "difr/http.h"
#include "difr/model.h"
#include "difr/model_cache.h"
#include "difr/noise.h"
#include "difr/sampling.h"

namespace difr::app {

// Options shared by the subcommands that run the engine.
struct EngineOptions {
    std::string model;  // path or cached model name; empty: the embedded model
    EngineSettings settings;
};

struct SamplingOptions {
    SamplingParams params;
    std::string noise = "vllm";
    NoiseProfile profile() const;  // throws CLI::ValidationError for an unknown profile (and for "auto")
    bool noise_auto() const { return noise == "auto"; }  // verify and audit: identify the profile
};

void add_engine_options(CLI::App &cmd, EngineOptions &o);
void add_sampling_options(CLI::App &cmd, SamplingOptions &o);
// --timeout, --connect-timeout, --max-attempts, --backoff: the remote clients' HTTP behaviour.
void add_http_options(CLI::App &cmd, HttpOptions &o);
// --reference-model, --reference-key-env, --reference-topk: how a remote prompt-logprob reference is asked.
struct RemoteReferenceOptions {
    std::string model;  // empty: the caller's default, described by model_help
    std::string key_env;
    int32_t topk = 5;
};
void add_remote_reference_options(CLI::App &cmd, RemoteReferenceOptions &o, const std::string &model_help);

// --fingerprint K, --toploc and their settings: activation proofs a prover emits beside its tokens.
struct ProofOptions {
    int32_t fingerprint_k = 0;  // 0: no fingerprints
    uint64_t fingerprint_seed = 42;
    std::string fingerprint_basis = "orthonormal", fingerprint_dtype = "f16";
    bool toploc = false;
    int32_t toploc_topk = 128, toploc_chunk = 32;
    ActivationProofSpec spec() const;  // throws InputError for a bad combination
};
void add_proof_options(CLI::App &cmd, ProofOptions &o);

// The model cache (difr/model_cache.h), shared with the Python package.
using difr::cache_dir;
using difr::kEmbeddedModel;
using difr::model_resolve;
using difr::models_dir;

// Provenance of a run: model file, its hash, engine settings, sampling, noise, difr version.
std::string provenance_json(const Model &model, const EngineSettings &settings,
                            const SamplingOptions &sampling);

void register_generate(CLI::App &app);
void register_verify(CLI::App &app);
void register_models(CLI::App &app);
void register_quantize(CLI::App &app);
void register_table(CLI::App &app);
void register_analyze(CLI::App &app);
void register_lab(CLI::App &app);
void register_serve(CLI::App &app);
void register_registry(CLI::App &app);
void register_prompts(CLI::App &app);
void register_audit(CLI::App &app);
void register_audit_report(CLI::App &app);
void register_noise(CLI::App &app);
void register_validate(CLI::App &app);
void register_toploc(CLI::App &app);

}  // namespace difr::app
