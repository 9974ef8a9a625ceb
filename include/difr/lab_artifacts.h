// The artifact lab (`difr lab --artifacts`, docs/lab.md "Artifact scenarios"): which check of an inference
// artifact catches which provider. Honest provers (with the honest variation of threads, batch and flash
// attention) and deviating ones (quantised weights, the pre-fill attack where a cheap model writes the tokens
// and the reference fills in the logprobs, logprob forgery, a seed lie) each make artifacts for real with the
// engine; the reference validates them; every check's threshold is calibrated on the honest artifacts to
// FPR <= 1% and its detection rate measured against tokens per artifact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "difr/artifact.h"
#include "difr/lab.h"
#include "difr/model.h"

namespace difr {

struct ArtifactScenario {
    std::string name;  // [A-Za-z0-9_.-]+, unique
    std::string kind;  // reference, engine, quantize, prefill, forgery, seed
    LabRole role = LabRole::deviation;
    std::string draw =
        "gumbel";  // gumbel (the noise profile's draw; Token-DiFR applies) or weighted (PR #1448)
    std::string description;
    std::string quantize;         // quantize, prefill, forgery: the reference requantised to this type
    std::string model;            // prefill: another model writes the text (re-tokenised)
    EngineSettings settings;      // the prover's engine settings
    std::optional<int64_t> seed;  // seed: the seed really used (the claim keeps the lab's)
};

struct ArtifactLabSpec {
    std::string path, name, reference, prompts;
    int32_t n_artifacts = 100;
    int32_t max_tokens = 300;
    std::vector<int32_t> lengths = {10, 30, 100, 300};
    int32_t k = 5;
    ArtifactSampling claimed;  // temperature, top_k, top_p, seed
    std::string noise = "vllm";
    EngineSettings settings;  // the validator's (and the honest prover's)
    std::vector<ArtifactScenario> scenarios;
};

// Reads an artifact lab file (TOML, docs/lab.md). InputError naming the file and key.
ArtifactLabSpec artifact_lab_read(const std::string &path);

// Makes and validates every scenario's artifacts into `out_dir`: artifacts/<name>.json (difr artifacts),
// stats/<name>.jsonl (one line per artifact and length with every check's statistic), then results.json and
// results.md (the detection table). Scenarios whose files exist are kept (resumable).
void artifact_lab_run(const ArtifactLabSpec &spec, const std::string &out_dir, const LabEnvironment &env);

// The detection table from a lab directory's stats (results.json and results.md); returns results.md.
std::string artifact_lab_analyze(const std::string &out_dir);

}  // namespace difr
