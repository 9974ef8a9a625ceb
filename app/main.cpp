#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app.h"
#include "difr/error.h"
#include "difr/http.h"
#include "difr/provenance.h"
#include "difr/results.h"

#include <nlohmann/json.hpp>

namespace difr::app {

NoiseProfile SamplingOptions::profile() const {
    if (auto p = noise_profile_from_name(noise)) return *p;
    if (noise_auto())
        throw CLI::ValidationError("--noise",
                                   "auto identifies the profile of tokens and exists for verify and audit");
    throw CLI::ValidationError("--noise", "unknown noise profile '" + noise + "' (profiles: " +
                                              noise_profile_names() + "; verify and audit also take auto)");
}

void add_engine_options(CLI::App &cmd, EngineOptions &o) {
    cmd.add_option("-m,--model", o.model,
                   "GGUF file or cached model name (default: the embedded SmolLM2-135M)");
    cmd.add_option("-t,--threads", o.settings.n_threads, "CPU threads (default: all cores)");
    cmd.add_option("-b,--batch", o.settings.n_batch, "tokens per decode call")->capture_default_str();
    cmd.add_option("--parallel", o.settings.n_seq_max, "sequences decoded together")->capture_default_str();
    cmd.add_option("--ctx", o.settings.n_ctx, "context limit per sequence (default: the model's)");
    cmd.add_option("--kv-type", o.settings.kv_type, "KV cache type: f32, f16, bf16, q8_0, q4_0, ...")
        ->capture_default_str();
    cmd.add_option("--flash-attn", o.settings.flash_attn, "flash attention: on, off, auto")
        ->capture_default_str();
    cmd.add_flag("!--no-repack", o.settings.repack, "disable llama.cpp's CPU weight repacking");
    cmd.add_option("--gpu-layers", o.settings.n_gpu_layers, "layers to offload to a GPU backend")
        ->capture_default_str();
}

void add_sampling_options(CLI::App &cmd, SamplingOptions &o) {
    cmd.add_option("-T,--temperature", o.params.temperature, "0 for greedy")->capture_default_str();
    cmd.add_option("--top-k", o.params.top_k, "0 or -1: off")->capture_default_str();
    cmd.add_option("--top-p", o.params.top_p, "1: off")->capture_default_str();
    cmd.add_option("--seed", o.params.seed, "sampling seed")->capture_default_str();
    cmd.add_option("--min-p", o.params.min_p, "llama.cpp's min-p, llama.cpp profile only; 0: off")
        ->capture_default_str();
    cmd.add_option(
           "--noise", o.noise,
           "noise profile: vllm (vLLM 0.31-0.33; the default since vLLM moved to murmur3 noise: before, "
           "vllm meant today's vllm-0.30), vllm-fp64 (--use-fp64-gumbel), vllm-0.30 (vLLM 0.24-0.30), "
           "vllm-0.30-fp64, vllm-0.22, sglang (deterministic mode), torch-cpu, llama.cpp; verify and "
           "audit also take auto (score under every profile and say which explains the tokens). "
           "docs/semantics.md lists the versions each covers")
        ->capture_default_str();
}

void add_http_options(CLI::App &cmd, HttpOptions &o) {
    cmd.add_option("--timeout", o.timeout_s, "seconds per request")->capture_default_str();
    cmd.add_option("--connect-timeout", o.connect_timeout_s, "seconds to connect")->capture_default_str();
    cmd.add_option("--max-attempts", o.max_attempts, "tries per request (429, 5xx, timeouts)")
        ->capture_default_str();
    cmd.add_option("--backoff", o.backoff_initial_s, "first retry delay in seconds, doubled per retry")
        ->capture_default_str();
}

void add_proof_options(CLI::App &cmd, ProofOptions &o) {
    cmd.add_option(
           "--fingerprint", o.fingerprint_k,
           "Activation-DiFR: k values (2 to 128) per generated token, projected from its hidden state")
        ->check(CLI::Range(kFingerprintMinK, kFingerprintMaxK));
    cmd.add_option("--fingerprint-seed", o.fingerprint_seed, "seed of the projection")->capture_default_str();
    cmd.add_option("--fingerprint-basis", o.fingerprint_basis, "orthonormal or gaussian (DiFR's code)")
        ->check(CLI::IsMember({"orthonormal", "gaussian"}))
        ->capture_default_str();
    cmd.add_option("--fingerprint-dtype", o.fingerprint_dtype, "f16 or bf16: 2 bytes per value")
        ->check(CLI::IsMember({"f16", "bf16"}))
        ->capture_default_str();
    cmd.add_flag("--toploc", o.toploc, "TOPLOC proofs (toploc 0.1.6 format) of the generated tokens");
    cmd.add_option("--toploc-topk", o.toploc_topk, "TOPLOC: activations per proof")->capture_default_str();
    cmd.add_option("--toploc-chunk", o.toploc_chunk,
                   "TOPLOC: generated tokens per proof (decode_batching_size)")
        ->capture_default_str();
}

ActivationProofSpec ProofOptions::spec() const {
    ActivationProofSpec s;
    if (fingerprint_k > 0) {
        FingerprintSpec f;
        f.k = fingerprint_k;
        f.seed = fingerprint_seed;
        f.basis = fingerprint_basis_parse(fingerprint_basis);
        f.dtype = fingerprint_dtype_parse(fingerprint_dtype);
        s.fingerprint = f;
    }
    if (toploc) s.toploc = ToplocSpec{toploc_topk, toploc_chunk};
    return s;
}

void add_remote_reference_options(CLI::App &cmd, RemoteReferenceOptions &o, const std::string &model_help) {
    cmd.add_option("--reference-model", o.model, model_help);
    cmd.add_option("--reference-key-env", o.key_env,
                   "environment variable holding the reference's key (FIREWORKS_API_KEY for fireworks.ai)");
    cmd.add_option("--reference-topk", o.topk, "top logprobs per row from a remote reference")
        ->capture_default_str();
}

std::string provenance_json(const Model &model, const EngineSettings &settings,
                            const SamplingOptions &sampling) {
    return difr::provenance_json(model, settings, sampling.params, sampling.noise);
}

}  // namespace difr::app

int main(int argc, char **argv) {
    CLI::App app{
        "difr: verify that an LLM provider runs the model, precision, prompt and sampling it claims"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "difr 0.1.0");
    difr::app::register_generate(app);
    difr::app::register_verify(app);
    difr::app::register_models(app);
    difr::app::register_quantize(app);
    difr::app::register_table(app);
    difr::app::register_analyze(app);
    difr::app::register_lab(app);
    difr::app::register_serve(app);
    difr::app::register_registry(app);
    difr::app::register_prompts(app);
    difr::app::register_audit(app);
    difr::app::register_audit_report(app);
    difr::app::register_noise(app);
    difr::app::register_validate(app);
    difr::app::register_toploc(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // --help and --version exit 0; every usage error is bad input, exit 2 like the other input errors.
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const difr::InputError &e) {
        std::fprintf(stderr, "difr: error: %s\n", e.what());
        return 2;
    } catch (const std::invalid_argument &e) {  // parameter checks of the core (sampling_validate, ...)
        std::fprintf(stderr, "difr: error: %s\n", e.what());
        return 2;
    } catch (const difr::RemoteError &e) {  // an endpoint failed or answered something unusable
        std::fprintf(stderr, "difr: remote error: %s\n", e.what());
        return 4;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "difr: internal error: %s\n", e.what());
        return 3;
    }
    return 0;
}
