// difr's local provider: seeded generation from a GGUF model, several sequences decoded together, with the
// same sampling code path and noise profile that the verifier replays.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "difr/model.h"
#include "difr/noise.h"
#include "difr/sampling.h"
#include "difr/sequences.h"

namespace difr {

// A deliberately faulty sampler, for the detection lab (like DiFR's BuggyLogitsProcessor): on a fraction
// `rate` of the tokens, chosen by its own RNG (seeded per sequence from `seed` and the prompt's index,
// independent of the sampling noise and of the batch), the sampled token is replaced by one drawn uniformly
// among the `top` largest logits other than the sampled token itself, so a bug always changes the token.
struct SamplingBug {
    double rate = 0.0;  // 0: off
    int32_t top = 20;
    uint64_t seed = 0;
};

struct GenerateOptions {
    SamplingParams sampling;
    NoiseProfile noise = NoiseProfile::vllm;
    int32_t max_tokens = 128;
    bool stop_at_eog = true;  // the end-of-generation token is kept in the output, as vLLM returns it
    SamplingBug bug;
    // A sampler of the caller's own in place of the noise profile's (a prover whose draw a seed proof
    // replays, src/proofs): called with the sequence, the output position and the row's raw logits; returns
    // the token.
    std::function<int32_t(size_t seq, int32_t j, std::span<const float> logits)> sampler;
    // Sees every sampled row with the token chosen (a prover records its top-k logprobs there).
    std::function<void(size_t seq, int32_t j, std::span<const float> logits, int32_t token)> on_row;
    // When set, called with the final hidden state (the LM head's input) of the row that samples output token
    // j of sequence seq, before it is sampled; valid only during the call. The context then returns hidden
    // states beside logits (docs/fingerprints.md).
    std::function<void(size_t seq, int32_t j, std::span<const float> hidden)> on_hidden;
};

struct GenerateStats {
    int64_t prompt_tokens = 0;
    int64_t generated_tokens = 0;
    int32_t decode_calls = 0;
};

// Generates one output per prompt. Prompts are decoded together (up to settings.n_seq_max at once) in one
// llama.cpp context. `on_done(i, seq)` is called when sequence i has finished (callers save it at once, so an
// interrupted run keeps what it finished).
std::vector<TokenSequence> generate(const Model &model, const EngineSettings &settings,
                                    const std::vector<std::vector<int32_t>> &prompts,
                                    const GenerateOptions &options, GenerateStats *stats = nullptr,
                                    const std::function<void(size_t, const TokenSequence &)> &on_done = {});

}  // namespace difr
