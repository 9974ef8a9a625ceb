#include "difr/metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace difr {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct RowStats {
    float max_l = -kInf;
    int32_t argmax = 0;
    float logit_rank = 0.0f;
    float log_sum = 0.0f;  // log sum_i exp(l_i - max_l)
};

// One pass for max and argmax (lowest id on ties), one for the rank of y and the log-sum-exp.
RowStats row_stats(std::span<const float> l, int32_t y) {
    RowStats s;
    const int32_t n = (int32_t)l.size();
    for (int32_t i = 0; i < n; ++i) {
        if (l[i] > s.max_l) {
            s.max_l = l[i];
            s.argmax = i;
        }
    }
    const float ly = l[y];
    int64_t above = 0;
    double sum = 0.0;  // a float sum drifts by ~1e-4 relative over 150k terms
    for (int32_t i = 0; i < n; ++i) {
        above += l[i] > ly;
        sum += std::exp(l[i] - s.max_l);
    }
    s.logit_rank = (float)above;
    s.log_sum = (float)std::log(sum);
    return s;
}

int32_t argmax_lowest(std::span<const float> l) {
    float best = -kInf;
    int32_t arg = 0;
    for (int32_t i = 0; i < (int32_t)l.size(); ++i) {
        if (l[i] > best) {
            best = l[i];
            arg = i;
        }
    }
    return arg;
}

// The Gumbel-max part at T > 0, over the tokens that survive the filter. `claimed` < 0 samples only.
struct NoisedRow {
    int32_t predicted = -1;
    bool claimed_kept = false;
    float prob = 0.0f;
    float margin = kInf;
    float gumbel_rank = kInf;
};

template <typename Visit>
void for_each_candidate(std::span<const float> logits, float T, const SamplingCandidates &c, Visit visit) {
    if (c.all) {
        for (int32_t i = 0; i < (int32_t)logits.size(); ++i) visit(size_t(i), i, logits[i] / T);
    } else {
        for (size_t r = 0; r < c.ids.size(); ++r) visit(r, c.ids[r], c.x[r]);
    }
}

// S is the precision the engine adds noise and takes the argmax in: float (vLLM's default path), double
// (the fp64 profiles: vLLM's --use-fp64-gumbel, SGLang). Summing in the wrong one would round scores the
// engine keeps apart, or keep apart scores it rounds together.
template <typename S>
NoisedRow noised_row(std::span<const float> logits, int32_t claimed, const SamplingParams &params,
                     const NoiseStream &noise, std::vector<S> &gumbel, SamplingCandidates &c,
                     SamplingScratch &sampling) {
    const float T = params.temperature;
    if (noise.sglang_sampler())
        sampling_filter_sglang(logits, params, c, sampling);
    else
        sampling_filter(logits, params, c, sampling);
    // The column the noise is keyed by: the token id, or for SGLang's sorted path the rank.
    auto column = [&](size_t r_idx, int32_t id) { return c.by_rank ? int32_t(r_idx) : id; };
    auto noise_at = [&](int32_t col) -> S {
        if constexpr (std::is_same_v<S, double>)
            return noise.gumbel64(col);
        else
            return noise.gumbel(col);
    };

    NoisedRow r;
    const S neg_inf = -std::numeric_limits<S>::infinity();
    S best_score = neg_inf, max_noised = neg_inf;
    float max_x = -kInf;
    float claimed_x = 0.0f;
    S claimed_g = 0;
    const size_t n_candidates = c.all ? logits.size() : c.ids.size();
    if (claimed >= 0) gumbel.resize(n_candidates);
    for_each_candidate(logits, T, c, [&](size_t r_idx, int32_t i, float x) {
        const S g = noise_at(column(r_idx, i));
        if (claimed >= 0) gumbel[r_idx] = g;
        const S score = S(x) + g;
        // Candidates come in token-id order (or rank order), so a tie keeps the lowest id (or rank), as
        // Triton's tl.max and torch.argmax do.
        if (score > best_score) {
            best_score = score;
            r.predicted = i;
        }
        if (claimed < 0) return;
        const S noised = S(logits[i]) + g * S(T);
        if (noised > max_noised) max_noised = noised;
        if (x > max_x) max_x = x;
        if (i == claimed) {
            r.claimed_kept = true;
            claimed_x = x;
            claimed_g = g;
        }
    });
    // A -inf logit (a top-k reference's "not in my list") is masked like a filtered token.
    if (claimed >= 0 && r.claimed_kept && claimed_x == -kInf) r.claimed_kept = false;
    if (claimed < 0 || !r.claimed_kept) return r;

    const S claimed_score = S(claimed_x) + claimed_g;
    double sum = 0.0;
    int64_t above = 0;
    for_each_candidate(logits, T, c, [&](size_t r_idx, int32_t, float x) {
        sum += std::exp(x - max_x);
        above += (S(x) + gumbel[r_idx]) > claimed_score;
    });
    r.prob = (float)(std::exp(claimed_x - max_x) / sum);
    r.margin = float(max_noised - (S(logits[claimed]) + claimed_g * S(T)));
    r.gumbel_rank = (float)above;
    return r;
}

NoisedRow noised_row(std::span<const float> logits, int32_t claimed, const SamplingParams &params,
                     const NoiseStream &noise, MetricsScratch &scratch) {
    if (noise.fp64())
        return noised_row<double>(logits, claimed, params, noise, scratch.gumbel64, scratch.candidates,
                                  scratch.sampling);
    return noised_row<float>(logits, claimed, params, noise, scratch.gumbel, scratch.candidates,
                             scratch.sampling);
}

}  // namespace

TokenMetrics token_metrics_compute(std::span<const float> logits, int32_t claimed,
                                   const SamplingParams &params, const NoiseStream *noise,
                                   MetricsScratch &scratch) {
    const RowStats s = row_stats(logits, claimed);
    TokenMetrics m;
    m.logit_rank = s.logit_rank;
    m.logprob = (logits[claimed] - s.max_l) - s.log_sum;
    if (sampling_is_greedy(params)) {
        m.predicted = s.argmax;
        m.prob = s.argmax == claimed ? 1.0f : 0.0f;
        m.margin = s.max_l - logits[claimed];
        m.gumbel_rank = s.logit_rank;
    } else {
        if (noise == nullptr)
            throw std::invalid_argument("token_metrics_compute: T > 0 needs a noise stream");
        const NoisedRow r = noised_row(logits, claimed, params, *noise, scratch);
        m.predicted = r.predicted;
        m.prob = r.prob;
        m.margin = r.margin;
        m.gumbel_rank = r.gumbel_rank;
    }
    m.exact_match = m.predicted == claimed;
    return m;
}

void token_metrics_raw(std::span<const float> logits, int32_t claimed, TokenMetrics &m) {
    const RowStats s = row_stats(logits, claimed);
    m.logit_rank = s.logit_rank;
    m.logprob = (logits[claimed] - s.max_l) - s.log_sum;
}

int32_t sampling_sample(std::span<const float> logits, const SamplingParams &params, const NoiseStream *noise,
                        MetricsScratch &scratch) {
    if (sampling_is_greedy(params)) return argmax_lowest(logits);
    if (noise == nullptr) throw std::invalid_argument("sampling_sample: T > 0 needs a noise stream");
    return noised_row(logits, -1, params, *noise, scratch).predicted;
}

}  // namespace difr
