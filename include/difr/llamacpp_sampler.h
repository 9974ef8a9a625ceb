// llama.cpp's own sampler chain, run on a row of logits: the filter half of the llama.cpp noise profile.
// The chain is llama-server's default order with the samplers that are no-ops at their defaults left out
// (penalties, DRY, top-n-sigma, typical-p, XTC): top-k -> top-p -> min-p -> temperature, then `dist`
// (include/difr/inverse_cdf.h). Note the order: llama.cpp filters on the raw logits and divides by T last,
// vLLM divides first. A request that names `"samplers": ["top_k", "top_p", "min_p", "temperature"]` gets
// exactly this chain from llama-server.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "difr/sampling.h"

struct llama_sampler;

namespace difr {

class LlamaCppSampler {
public:
    explicit LlamaCppSampler(const SamplingParams &params);  // T > 0
    ~LlamaCppSampler();
    LlamaCppSampler(const LlamaCppSampler &) = delete;
    LlamaCppSampler &operator=(const LlamaCppSampler &) = delete;

    // The candidates the chain leaves, in the order llama.cpp's dist sampler walks them, with their logits
    // after the chain (divided by T).
    void filter(std::span<const float> logits, std::vector<int32_t> &ids, std::vector<float> &x);

private:
    llama_sampler *chain_ = nullptr;
    std::vector<uint8_t> cells_;  // llama_token_data scratch, reused from row to row
};

}  // namespace difr
