// The llama.cpp noise profile: llama.cpp's `dist` sampler draws one uniform number per sampled token and
// walks the cumulative distribution of the candidates its sampler chain left, in the chain's order (inverse
// CDF). It is not Gumbel-max, so its metrics are defined in probability space (docs/semantics.md):
//   predicted   = the candidate the draw lands on,
//   prob        = the claimed token's probability after the chain (top-k, top-p, min-p, temperature),
//   margin      = how far the draw would have to move for the claimed token to be chosen: 0 inside the
//                 claimed token's interval of the CDF, else the distance to the nearer end; in [0, 1),
//                 +inf when the chain removed the claimed token,
//   gumbel_rank = how many candidates lie strictly between the chosen one and the claimed one in the chain's
//                 order (0 on a match), +inf when the claimed token was removed.
// The chain itself (llama.cpp's own top-k/top-p/min-p/temperature samplers) runs in the engine
// (include/difr/llamacpp_sampler.h); this file is the part that needs no llama.cpp.
#pragma once
#include <cstdint>
#include <random>
#include <span>

#include "difr/metrics.h"

namespace difr {

// The random stream of llama.cpp's dist sampler (src/llama-sampler.cpp, llama_sampler_dist_apply): a
// std::mt19937 seeded with the 32-bit seed, one std::uniform_real_distribution<double>(0, 1) draw per
// sampled token (also when a single candidate is left). Sequential: the j-th draw belongs to output token j
// of a request, because llama-server gives every request a fresh sampler seeded with its seed.
class LlamaCppRng {
public:
    explicit LlamaCppRng(uint32_t seed) : engine_(seed) {}
    double next() { return dist_(engine_); }

private:
    std::mt19937 engine_;
    std::uniform_real_distribution<double> dist_{0.0, 1.0};
};

// The candidate llama.cpp's dist sampler selects, as an index into `x` (the chain's candidates in its order,
// their logits already divided by T): p_i = expf(x_i - max x) in float, summed in double; the first i
// whose running sum reaches sum * rnd.
size_t inverse_cdf_select(std::span<const float> x, double rnd);

// Metrics of a claimed token under the llama.cpp profile (T > 0). `logits` is the raw row (for logit_rank
// and logprob); `ids`/`x` the chain's candidates in order with their tempered logits; `rnd` the draw.
TokenMetrics token_metrics_inverse_cdf(std::span<const float> logits, int32_t claimed,
                                       std::span<const int32_t> ids, std::span<const float> x, double rnd);

}  // namespace difr
