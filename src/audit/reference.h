// Shared between the audit's files; never included outside src/audit.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "difr/audit.h"
#include "difr/metrics.h"
#include "difr/remote.h"
#include "difr/sequences.h"

namespace difr {

// Metrics of the claimed `output` tokens from top-k rows (one per output token), -inf outside the top k.
std::vector<TokenMetrics> topk_rows_metrics(std::span<const TopkRow> rows, std::span<const int32_t> output,
                                            const SamplingParams &sampling, NoiseProfile noise,
                                            int64_t prompt_len, int32_t n_vocab);

// One sequence scored by a remote prompt-logprob reference.
std::vector<TokenMetrics> reference_remote_score(const ReferenceSpec &ref, const TokenSequence &seq,
                                                 const SamplingParams &sampling, NoiseProfile noise,
                                                 int32_t n_vocab, const std::string &api_key,
                                                 const HttpOptions &http, size_t seq_index);

}  // namespace difr
