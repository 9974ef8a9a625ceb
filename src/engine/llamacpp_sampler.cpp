#include "difr/llamacpp_sampler.h"

#include <stdexcept>

#include "llama.h"

namespace difr {

LlamaCppSampler::LlamaCppSampler(const SamplingParams &params) {
    if (sampling_is_greedy(params)) throw std::invalid_argument("LlamaCppSampler: T = 0 is argmax, no chain");
    chain_ = llama_sampler_chain_init(llama_sampler_chain_default_params());
    // llama-server's values for what difr does not expose: min_keep 0, dynamic temperature off.
    const size_t min_keep = 0;
    llama_sampler_chain_add(chain_, llama_sampler_init_top_k(params.top_k));
    llama_sampler_chain_add(chain_, llama_sampler_init_top_p(params.top_p, min_keep));
    llama_sampler_chain_add(chain_, llama_sampler_init_min_p(params.min_p, min_keep));
    llama_sampler_chain_add(chain_, llama_sampler_init_temp_ext(params.temperature, 0.0f, 1.0f));
}

LlamaCppSampler::~LlamaCppSampler() {
    if (chain_) llama_sampler_free(chain_);
}

void LlamaCppSampler::filter(std::span<const float> logits, std::vector<int32_t> &ids,
                             std::vector<float> &x) {
    cells_.resize(logits.size() * sizeof(llama_token_data));
    auto *cells = reinterpret_cast<llama_token_data *>(cells_.data());
    // The same array common_sampler builds from a logits row: every token in id order, unsorted.
    for (size_t i = 0; i < logits.size(); ++i) cells[i] = llama_token_data{(llama_token)i, logits[i], 0.0f};
    llama_token_data_array arr{cells, logits.size(), -1, false};
    llama_sampler_apply(chain_, &arr);
    ids.resize(arr.size);
    x.resize(arr.size);
    for (size_t i = 0; i < arr.size; ++i) {
        ids[i] = arr.data[i].id;
        x[i] = arr.data[i].logit;
    }
}

}  // namespace difr
