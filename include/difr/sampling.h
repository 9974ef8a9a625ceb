// Sampling parameters and their filter, with vLLM's semantics (as token-difr copies them):
// temperature first, then top-k, then top-p. See docs/semantics.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace difr {

struct SamplingParams {
    float temperature = 0.0f;  // 0: greedy
    int32_t top_k = 0;         // <= 0 or >= n_vocab: off
    float top_p = 1.0f;        // >= 1: off
    uint64_t seed = 0;         // used by the noise profile when temperature > 0
    float min_p = 0.0f;        // llama.cpp's min-p (llama.cpp profile only); 0: off
};

bool sampling_is_greedy(const SamplingParams &params);
// Throws std::invalid_argument naming the bad field (negative or non-finite temperature, top_p outside (0,
// 1], min_p outside [0, 1]).
void sampling_validate(const SamplingParams &params);
std::string sampling_describe(const SamplingParams &params);  // "T=1 top_k=50 top_p=0.95 seed=42"

// The tokens that survive the filter for one row of logits, with x = logits / T for each of them.
// When `all` is true every token of the vocabulary survives and `ids`/`x` are empty (nothing was filtered).
struct SamplingCandidates {
    bool all = false;
    bool by_rank = false;      // sampling_filter_sglang: ids in SGLang's descending-probability order
    std::vector<int32_t> ids;  // ascending token id (by_rank: rank order, the most likely first)
    std::vector<float> x;      // x[i] = logits[ids[i]] / T
};

// Scratch space reused from row to row so the hot loop does not allocate.
struct SamplingScratch {
    std::vector<float> heap_x;
    std::vector<int32_t> kept;  // candidates that survive top-p, as indices into the top-k survivors
    std::vector<int32_t> order;
    std::vector<float> probs;
};

// Applies temperature, top-k and top-p to one row (T > 0 only). Deterministic; ties in top-k are all kept,
// exactly as vLLM's `logits < kth_value` mask does.
void sampling_filter(std::span<const float> logits, const SamplingParams &params, SamplingCandidates &out,
                     SamplingScratch &scratch);

// SGLang's pytorch sampler (top_k_top_p_min_p_sampling_from_probs_torch, the one its deterministic mode
// runs): p = softmax(x) over the whole vocabulary, sorted descending (ties: lower id first); rank r survives
// if r < top_k and the probability before it, cumsum_r - p_r, is <= top_p (no renormalisation after top-k).
// The survivors come back in rank order with by_rank set, because SGLang keys their noise by rank. Without
// top-k and top-p nothing is sorted: `all`, as sampling_filter.
void sampling_filter_sglang(std::span<const float> logits, const SamplingParams &params,
                            SamplingCandidates &out, SamplingScratch &scratch);

}  // namespace difr
