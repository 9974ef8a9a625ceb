// Token-DiFR per-token metrics (design.md section 2): how far a claimed token is from what the reference
// would have produced, given the reference's raw logits for that position.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "difr/noise.h"
#include "difr/sampling.h"

namespace difr {

struct TokenMetrics {
    bool exact_match = false;  // predicted == claimed
    int32_t predicted = -1;    // the reference's own choice under the same sampling and noise
    float prob = 0.0f;         // probs[claimed], probs = softmax of the filtered x
    float margin = 0.0f;       // Token-DiFR score, logit units; +inf when the claimed token was filtered out
    float logit_rank = 0.0f;   // #{i : l_i > l_y}
    float gumbel_rank = 0.0f;  // #{i unmasked : x_i + G_i > x_y + G_y}; +inf when filtered out
    float logprob = 0.0f;      // log_softmax(l)[y] at T = 1, unfiltered
};

struct MetricsScratch {
    SamplingCandidates candidates;
    SamplingScratch sampling;
    std::vector<float> gumbel;     // noise of each candidate, computed once per row
    std::vector<double> gumbel64;  // the same for the fp64 profiles
};

// Scores one row. `noise` must be positioned (NoiseStream::seek) for this row; it is ignored at T = 0 and
// required (std::invalid_argument otherwise) at T > 0.
// At T = 0 there is no noise: predicted = argmax(l) (lowest id on ties), prob = [y == argmax],
// margin = max(l) - l_y, gumbel_rank = logit_rank.
TokenMetrics token_metrics_compute(std::span<const float> logits, int32_t claimed,
                                   const SamplingParams &params, const NoiseStream *noise,
                                   MetricsScratch &scratch);

// The parts of the metrics that depend only on the raw row, whatever the sampler: logit_rank and logprob.
void token_metrics_raw(std::span<const float> logits, int32_t claimed, TokenMetrics &m);

// The token a seeded sampler emits for this row: argmax over unmasked i of x_i + G_i (argmax l at T = 0).
// Shares its code path with token_metrics_compute, so a generator and a verifier cannot drift apart.
int32_t sampling_sample(std::span<const float> logits, const SamplingParams &params, const NoiseStream *noise,
                        MetricsScratch &scratch);

}  // namespace difr
