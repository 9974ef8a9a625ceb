#include "difr/sampling.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <stdexcept>

namespace difr {

bool sampling_is_greedy(const SamplingParams &params) {
    return params.temperature == 0.0f;
}

void sampling_validate(const SamplingParams &params) {
    if (!std::isfinite(params.temperature) || params.temperature < 0.0f)
        throw std::invalid_argument("temperature must be a finite number >= 0, got " +
                                    std::to_string(params.temperature));
    if (!(params.top_p > 0.0f && params.top_p <= 1.0f))
        throw std::invalid_argument("top_p must be in (0, 1], got " + std::to_string(params.top_p));
    if (!(params.min_p >= 0.0f && params.min_p <= 1.0f))
        throw std::invalid_argument("min_p must be in [0, 1], got " + std::to_string(params.min_p));
}

std::string sampling_describe(const SamplingParams &params) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "T=%g top_k=%d top_p=%g seed=%llu", params.temperature, params.top_k,
                  params.top_p, (unsigned long long)params.seed);
    std::string out = buf;
    if (params.min_p > 0.0f) {
        std::snprintf(buf, sizeof buf, " min_p=%g", params.min_p);
        out += buf;
    }
    return out;
}

namespace {

// The k-th largest value of x = logits / T, with a size-k min-heap: one pass, no copy of the row.
float kth_largest_x(std::span<const float> logits, float T, int32_t k, std::vector<float> &heap) {
    heap.clear();
    const std::greater<float> min_heap;
    for (float l : logits) {
        const float x = l / T;
        if ((int32_t)heap.size() < k) {
            heap.push_back(x);
            std::push_heap(heap.begin(), heap.end(), min_heap);
        } else if (x > heap.front()) {
            std::pop_heap(heap.begin(), heap.end(), min_heap);
            heap.back() = x;
            std::push_heap(heap.begin(), heap.end(), min_heap);
        }
    }
    return heap.front();
}

// vLLM's top-p over the surviving tokens: sort ascending, softmax, cumulative sum, drop where the sum is
// <= 1 - p, always keep the largest. torch accumulates float cumsums in double on the CPU and stores floats.
void apply_top_p(float top_p, SamplingCandidates &c, SamplingScratch &s) {
    const size_t n = c.ids.size();
    s.order.resize(n);
    std::iota(s.order.begin(), s.order.end(), 0);
    std::stable_sort(s.order.begin(), s.order.end(), [&](int32_t a, int32_t b) { return c.x[a] < c.x[b]; });
    const float max_x = c.x[s.order.back()];
    s.probs.resize(n);
    float sum = 0.0f;
    for (size_t r = 0; r < n; ++r) {
        s.probs[r] = std::exp(c.x[s.order[r]] - max_x);
        sum += s.probs[r];
    }
    const float limit = 1.0f - top_p;
    double cum = 0.0;
    size_t kept_from = n - 1;  // the largest is always kept
    for (size_t r = 0; r + 1 < n; ++r) {
        cum += double(s.probs[r] / sum);
        if (!(float(cum) <= limit)) {
            kept_from = r;
            break;
        }
    }
    // Everything from rank kept_from upwards survives; keep ids ascending.
    s.kept.clear();
    for (size_t r = kept_from; r < n; ++r) s.kept.push_back(s.order[r]);
    std::sort(s.kept.begin(), s.kept.end());
    // Compact in place: the kept indices ascend, so each one is at or after the slot it moves to.
    size_t w = 0;
    for (int32_t idx : s.kept) {
        c.ids[w] = c.ids[idx];
        c.x[w] = c.x[idx];
        ++w;
    }
    c.ids.resize(w);
    c.x.resize(w);
}

}  // namespace

void sampling_filter(std::span<const float> logits, const SamplingParams &params, SamplingCandidates &out,
                     SamplingScratch &scratch) {
    const int32_t n_vocab = (int32_t)logits.size();
    const float T = params.temperature;
    const bool use_k = params.top_k > 0 && params.top_k < n_vocab;
    const bool use_p = params.top_p < 1.0f;
    out.ids.clear();
    out.x.clear();
    out.by_rank = false;
    out.all = !use_k && !use_p;
    if (out.all) return;

    float threshold = -INFINITY;
    if (use_k) threshold = kth_largest_x(logits, T, params.top_k, scratch.heap_x);
    for (int32_t i = 0; i < n_vocab; ++i) {
        const float x = logits[i] / T;
        if (x >= threshold) {
            out.ids.push_back(i);
            out.x.push_back(x);
        }
    }
    if (use_p && out.ids.size() > 1) apply_top_p(params.top_p, out, scratch);
}

void sampling_filter_sglang(std::span<const float> logits, const SamplingParams &params,
                            SamplingCandidates &out, SamplingScratch &scratch) {
    const int32_t n_vocab = (int32_t)logits.size();
    const float T = params.temperature;
    const bool use_k = params.top_k > 0 && params.top_k < n_vocab;
    const bool use_p = params.top_p < 1.0f;
    out.ids.clear();
    out.x.clear();
    out.by_rank = use_k || use_p;
    out.all = !out.by_rank;
    if (out.all) return;

    // softmax over the whole row (SGLang's torch.softmax(logits / T) in float32).
    std::vector<float> &p = scratch.probs;
    p.resize(size_t(n_vocab));
    float max_x = -INFINITY;
    for (int32_t i = 0; i < n_vocab; ++i) max_x = std::max(max_x, logits[i] / T);
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; ++i) {
        p[i] = std::exp(logits[i] / T - max_x);
        sum += p[i];
    }
    for (float &v : p) v = float(v / sum);

    // Only a prefix of the sorted order can survive: sort a window of the most likely tokens, doubling it
    // until the cut falls inside (a full sort of 150k ids per row would dominate verification).
    const int32_t limit = use_k ? params.top_k : n_vocab;
    std::vector<int32_t> &order = scratch.order;
    order.resize(size_t(n_vocab));
    std::iota(order.begin(), order.end(), 0);
    auto before = [&](int32_t a, int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); };
    int32_t window = std::min(limit, 64);
    for (;;) {
        std::partial_sort(order.begin(), order.begin() + window, order.end(), before);
        out.ids.clear();
        double cum = 0.0;
        bool cut = window == limit;
        for (int32_t r = 0; r < window; ++r) {
            const float pr = p[order[r]];
            cum += pr;
            if (use_p && float(cum) - pr > params.top_p) {
                cut = true;
                break;
            }
            out.ids.push_back(order[r]);
        }
        if (cut) break;
        window = std::min(limit, window * 2);
    }
    for (int32_t id : out.ids) out.x.push_back(logits[id] / T);
}

}  // namespace difr
