#include "difr/row_scorer.h"

#include <stdexcept>

#include "difr/llamacpp_sampler.h"

namespace difr {

RowScorer::RowScorer(const SamplingParams &params, NoiseProfile noise, int32_t n_vocab)
    : params_(params), noise_(noise), n_vocab_(n_vocab), greedy_(sampling_is_greedy(params)) {
    sampling_validate(params);
    if (params.min_p > 0.0f && noise != NoiseProfile::llama_cpp)
        throw std::invalid_argument("min_p is only defined for the llama.cpp profile (--noise llama.cpp)");
    if (!greedy_ && noise == NoiseProfile::llama_cpp) chain_ = std::make_unique<LlamaCppSampler>(params);
}

RowScorer::~RowScorer() = default;

TokenMetrics RowScorer::score(Sequence &seq, std::span<const float> logits, int32_t claimed, int64_t pos) {
    if (chain_) {
        // One draw per output token, in order: llama-server seeds a fresh sampler per request.
        if (!seq.draws) seq.draws = std::make_unique<LlamaCppRng>((uint32_t)params_.seed);
        chain_->filter(logits, chain_ids_, chain_x_);
        return token_metrics_inverse_cdf(logits, claimed, chain_ids_, chain_x_, seq.draws->next());
    }
    if (!greedy_) {
        if (!seq.noise) seq.noise = noise_stream_make(noise_, params_.seed, n_vocab_);
        seq.noise->seek(pos);
    }
    return token_metrics_compute(logits, claimed, params_, seq.noise.get(), scratch_);
}

}  // namespace difr
