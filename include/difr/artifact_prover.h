// The prover side of inference artifacts (docs/artifacts.md): difr generates with the local engine and
// records, per position, the chosen token and its top-k with logprobs - what `difr generate --artifact` and
// `difr serve`'s /v1/chat/completions return. With a seed proof the draw itself is replayable: uniform over
// the top-k (the seed document) or weighted (gonka PR #1448's contract), see difr/seed_proof.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "difr/artifact.h"
#include "difr/generator.h"
#include "difr/model.h"
#include "difr/scorer.h"

namespace difr {

struct ProverOptions {
    ArtifactSampling sampling;   // exact values (the weighted draw reads their decimal form)
    std::string noise = "vllm";  // the noise profile of the default (proof none) draw
    int32_t max_tokens = 128;
    int32_t k = 5;  // top-k per position; the weighted proof needs k >= top_k and widens it
    SeedProofKind proof = SeedProofKind::none;
    std::vector<std::string> ids;  // sequence ids, one per prompt; fresh UUIDs when empty
    bool stop_at_eog = true;
    // The hidden state of each row that samples a token (GenerateOptions::on_hidden), for activation proofs.
    std::function<void(size_t seq, int32_t j, std::span<const float> hidden)> on_hidden;
};

// The SamplingParams the generator takes for an artifact's sampling (temperature, top-k, top-p, seed).
SamplingParams prover_sampling_params(const ArtifactSampling &s);

// Generates one sequence per prompt and returns them as an artifact (source "difr"). InputError for
// options that cannot be proved: a seed proof without a seed, a weighted proof at temperature 0 or without
// top_k (unbounded support), k outside [1, n_vocab].
Artifact artifact_generate(const Model &model, const EngineSettings &settings,
                           const std::vector<std::vector<int32_t>> &prompts, const ProverOptions &options,
                           GenerateStats *stats = nullptr);

// The reference's view of given tokens (the validator's replay, Gonka's enforced_tokens): for each position
// the token's logprob and either the model's own top-k (`at_ids` empty for that position) or its logprobs
// at the listed ids, in their order. `scorer` comes from the same model. Throws InputError naming the
// sequence and position for ids outside the vocabulary or a sequence beyond the context. `on_hidden`, when
// set, sees the hidden state of the row that scores each token (for activation proofs of replayed tokens).
std::vector<std::vector<ArtifactPosition>> artifact_score_tokens(
    const Model &model, Scorer &scorer, std::span<const TokenSequence> seqs, int32_t k,
    const std::vector<std::vector<std::vector<int32_t>>> &at_ids = {}, const HiddenCallback &on_hidden = {});

}  // namespace difr
