// The detection lab (docs/lab.md): a reference model, a prompt set, the sampling a provider claims, and
// provider configurations (honest variations that must be accepted, deviations that must be caught), each
// generated for real by the engine and verified against the reference. This header is the runner; the
// statistics over its output directory are `difr analyze`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "difr/generator.h"
#include "difr/model.h"
#include "difr/sampling.h"

namespace difr {

enum class LabRole { honest, deviation };

// One provider configuration: what differs from the reference run and the claim.
struct LabConfig {
    std::string name;  // [A-Za-z0-9_.-]+, unique; names the run directories
    std::string kind;  // reference, engine, quantize, kv_cache, temperature, top_p, seed, sampling_bug,
                       // system_prompt, model, prefill
    LabRole role = LabRole::deviation;
    std::string description;

    std::string quantize;     // quantize, prefill: the reference requantised to this type generates
    std::string model;        // model: another model (name or path) generates; its text is re-tokenised
    EngineSettings settings;  // the provider's engine settings (engine, kv_cache change them)
    std::optional<float> temperature, top_p;  // temperature, top_p: what the provider really uses at t1
    std::optional<uint64_t> seed;             // seed: the provider's real seed at t1
    SamplingBug bug;                          // sampling_bug
    std::string system_prompt;  // system_prompt: rendered by the provider, absent from the claim
    bool greedy_pass = true;    // false where greedy decoding ignores what differs (temperature, top-p, seed)
};

struct LabSpec {
    std::string path;  // the lab file, for messages
    std::string name;
    std::string reference;  // model name or path, resolved by LabEnvironment::model_resolve
    std::string prompts;    // JSONL prompt file, resolved against the lab file's directory
    int32_t n_prompts = 100;
    int32_t max_tokens = 200;
    SamplingParams claimed;  // the t1 claim; the t0 claim is greedy
    std::string noise = "vllm";
    EngineSettings settings;  // the verifier's (and the honest provider's) engine settings
    std::vector<LabConfig> configs;
};

// Reads a lab file (TOML, docs/lab.md). Throws InputError naming the file, the key (e.g. `configs[3].kind`)
// and what is wrong: a syntax error with its line, an unknown key or kind, a missing or mistyped field.
LabSpec lab_spec_read(const std::string &path);
// The same from the file's text; `path` names it in errors and anchors the relative prompts path.
LabSpec lab_spec_parse(const std::string &text, const std::string &path);

// The two passes: t1 (the claimed sampling) and t0 (greedy).
SamplingParams lab_claimed(const LabSpec &spec, const std::string &pass);

// Where models come from, supplied by the caller (the app knows the model cache).
struct LabEnvironment {
    std::function<std::string(const std::string &)> model_resolve;  // name or path -> file
    std::string derived_dir;  // requantised models are cached here as <reference stem>-<type>.gguf
    std::function<void(const std::string &)> log;  // progress lines
};

struct LabRunStats {
    int32_t configs_run = 0;      // configurations that generated or verified something in this call
    int32_t configs_resumed = 0;  // configurations whose run directories were already complete
};

// What the provider of configuration `c` really samples with in a pass ("t1" or "t0").
SamplingParams lab_provider_sampling(const LabSpec &spec, const LabConfig &c, const std::string &pass);
// The reference requantised to `type` (a GGUF type such as Q4_0), made once into env.derived_dir (written to
// a .part file and renamed, so a stopped lab never leaves half a model); shared by every kind of lab.
std::string lab_derived_model(const std::string &ref_path, const std::string &type,
                              const LabEnvironment &env);
// The GGUF the provider of `c` runs: the reference, another model, or a requantisation of the reference made
// (once) into env.derived_dir.
std::string lab_provider_model(const LabConfig &c, const std::string &ref_path, const LabEnvironment &env);

// Runs every configuration of `spec` into `out_dir` (the layout of docs/lab.md): runs/<name>-<pass>/ with
// outputs.json (+ .meta.json), tokens.jsonl and summary.json, and lab.json rewritten after each finished
// configuration. Complete run directories are kept and not redone. Throws InputError when out_dir holds a
// lab.json of another lab (other reference, prompts, n_prompts, max_tokens or claim).
LabRunStats lab_run(const LabSpec &spec, const std::string &out_dir, const LabEnvironment &env);

}  // namespace difr
