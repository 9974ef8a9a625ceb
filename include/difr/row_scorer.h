// Token-DiFR for one row of logits under any noise profile: the Gumbel profiles through
// token_metrics_compute with one noise stream per sequence, the llama.cpp profile through llama.cpp's own
// sampler chain and one draw per output token. verify_sequences scores every row through it (one per
// profile under --noise auto); callers that hold the logits themselves use it too (the Python package's
// token_metrics).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "difr/inverse_cdf.h"
#include "difr/metrics.h"
#include "difr/noise.h"
#include "difr/sampling.h"

namespace difr {

class LlamaCppSampler;

class RowScorer {
public:
    // Throws std::invalid_argument for bad sampling parameters (sampling_validate) and for min_p outside
    // the llama.cpp profile.
    RowScorer(const SamplingParams &params, NoiseProfile noise, int32_t n_vocab);
    ~RowScorer();
    RowScorer(const RowScorer &) = delete;
    RowScorer &operator=(const RowScorer &) = delete;

    // What one sequence carries from row to row: its noise stream or its llama.cpp draws, made on its
    // first row.
    struct Sequence {
        std::unique_ptr<NoiseStream> noise;
        std::unique_ptr<LlamaCppRng> draws;
    };

    // Metrics of the claimed token of one row. The rows of a sequence come in order; `pos` is the absolute
    // position of the token whose logits these are (prompt_len - 1 + j for output token j), which keys the
    // vllm profiles' noise. `logits` has n_vocab entries and `claimed` lies in [0, n_vocab) (the caller
    // checks both).
    TokenMetrics score(Sequence &seq, std::span<const float> logits, int32_t claimed, int64_t pos);

private:
    SamplingParams params_;
    NoiseProfile noise_;
    int32_t n_vocab_;
    bool greedy_;
    std::unique_ptr<LlamaCppSampler> chain_;  // the llama.cpp profile at T > 0
    MetricsScratch scratch_;
    std::vector<int32_t> chain_ids_;
    std::vector<float> chain_x_;
};

}  // namespace difr
