#include "difr/inverse_cdf.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace difr {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

float max_of(std::span<const float> x) {
    float m = x[0];
    for (float v : x) m = v > m ? v : m;
    return m;
}

double sum_of_p(std::span<const float> x, float max_x) {
    double sum = 0.0;
    for (float v : x) sum += expf(v - max_x);
    return sum;
}

}  // namespace

// Mirrors llama_sampler_dist_apply: float probabilities from expf, double running sums, `>=` against the
// target, a single candidate taken without looking at the draw.
size_t inverse_cdf_select(std::span<const float> x, double rnd) {
    if (x.size() <= 1) return 0;
    const float max_x = max_of(x);
    const double target = sum_of_p(x, max_x) * rnd;
    double run = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        run += expf(x[i] - max_x);
        if (run >= target) return i;
    }
    return x.size() - 1;  // llama.cpp's fallback (rounding can leave the last sum a hair below the target)
}

TokenMetrics token_metrics_inverse_cdf(std::span<const float> logits, int32_t claimed,
                                       std::span<const int32_t> ids, std::span<const float> x, double rnd) {
    TokenMetrics m;
    token_metrics_raw(logits, claimed, m);
    m.margin = kInf;
    m.gumbel_rank = kInf;
    if (ids.empty()) return m;

    const size_t selected = inverse_cdf_select(x, rnd);
    m.predicted = ids[selected];
    m.exact_match = m.predicted == claimed;

    size_t k = ids.size();
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == claimed) {
            k = i;
            break;
        }
    }
    // A -inf logit (a top-k reference's "not in my list") is masked like a removed token.
    if (k == ids.size() || x[k] == -kInf) return m;

    if (ids.size() == 1) {
        m.prob = 1.0f;
        m.margin = 0.0f;
        m.gumbel_rank = 0.0f;
        return m;
    }
    const float max_x = max_of(x);
    const double sum = sum_of_p(x, max_x);
    double before = 0.0;  // running sum up to the claimed token, accumulated in the sampler's order
    for (size_t i = 0; i < k; ++i) before += expf(x[i] - max_x);
    const double p_k = expf(x[k] - max_x);
    m.prob = (float)(p_k / sum);
    // The claimed token is chosen iff before < target <= before + p_k; the distance to that interval, in the
    // same sums the sampler compares, then scaled to probability units.
    const double target = sum * rnd, after = before + p_k;
    if (m.exact_match)
        m.margin = 0.0f;
    else
        m.margin = (float)(std::max(0.0, target <= before ? before - target : target - after) / sum);
    m.gumbel_rank = (float)(k > selected ? k - selected : selected - k);
    return m;
}

}  // namespace difr
