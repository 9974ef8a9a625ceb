// Top-k references (design.md sections 2 and 7): a remote API returns, per position, only the k most likely
// tokens with their logprobs. The verifier treats every token outside that list as -inf, as token-difr does;
// difr's own server produces such rows from raw logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "difr/metrics.h"

namespace difr {

struct TopkEntry {
    int32_t token_id = 0;
    float logprob = 0.0f;
};

// TokenMetrics for `claimed` from one top-k row, exactly as token-difr 0.1.2 computes them for its API
// backends (api.py: _sparse_logprobs_to_tensor scatters the row into a -inf vector of V entries, then
// _compute_verification_metrics_from_logprobs applies greedy rules to those logprobs whatever the sampling
// parameters were):
//   predicted   = argmax of the row (lowest id on ties; 0 when the row is empty, as torch.argmax of -inf)
//   logprob     = the claimed token's logprob, -inf when it is not in the row
//   prob        = exp(logprob) (not renormalised over the row; 0 when absent)
//   margin      = max logprob - logprob (+inf when absent)
//   logit_rank  = #{entries with logprob > the claimed one's} (k when absent: every -inf ties)
//   gumbel_rank = logit_rank (token-difr's greedy path)
// One deliberate difference: for an empty row token-difr's margin is -inf - (-inf) = NaN; difr gives +inf,
// the value for a claimed token the reference did not return. Throws std::invalid_argument for an entry
// whose id is outside [0, n_vocab), a duplicate id, a NaN logprob, or a claimed id outside the vocabulary.
TokenMetrics token_metrics_from_topk(std::span<const TopkEntry> row, int32_t claimed, int32_t n_vocab);

// What a server returns for one position: the k most likely tokens and the claimed (actual) token.
struct TopkLogprobs {
    std::vector<TopkEntry> top;    // descending logprob, lower id first on ties; min(k, V) entries
    float claimed_logprob = 0.0f;  // log_softmax(l)[claimed]
    int32_t claimed_rank = 0;      // 1 + #{i : l_i > l_claimed} (vLLM's 1-based rank)
};

// log_softmax of raw logits (T = 1, unfiltered) computed exactly as token_metrics_compute computes its
// `logprob` (float differences, the sum of exp accumulated in double), so a row served over HTTP carries
// bit for bit the logprob that `difr verify` writes. `claimed` < 0: no claimed token (fields left 0).
// Throws std::invalid_argument for k < 0 or a claimed id outside the vocabulary.
void topk_logprobs_from_logits(std::span<const float> logits, int32_t k, int32_t claimed, TopkLogprobs &out);

}  // namespace difr
