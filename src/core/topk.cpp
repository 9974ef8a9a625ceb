#include "difr/topk.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace difr {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// a ranks before b: higher logprob, then lower id (the order of torch.argmax and of vLLM's sorted top-k).
bool ranks_before(const TopkEntry &a, const TopkEntry &b) {
    return a.logprob > b.logprob || (a.logprob == b.logprob && a.token_id < b.token_id);
}

void row_check(std::span<const TopkEntry> row, int32_t claimed, int32_t n_vocab) {
    if (claimed < 0 || claimed >= n_vocab)
        throw std::invalid_argument("claimed token id " + std::to_string(claimed) +
                                    " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    for (size_t r = 0; r < row.size(); ++r) {
        const TopkEntry &e = row[r];
        const std::string where =
            "top-k entry " + std::to_string(r) + " (token id " + std::to_string(e.token_id) + ")";
        if (e.token_id < 0 || e.token_id >= n_vocab)
            throw std::invalid_argument(where + ": id outside the vocabulary [0, " + std::to_string(n_vocab) +
                                        ")");
        if (std::isnan(e.logprob)) throw std::invalid_argument(where + ": logprob is NaN");
    }
    // Duplicates would make the scatter ambiguous (torch leaves the winner unspecified). Rows are short
    // (k <= 20 from APIs) so the quadratic check is the cheap one; long rows sort a copy of the ids.
    if (row.size() <= 64) {
        for (size_t a = 0; a < row.size(); ++a)
            for (size_t b = a + 1; b < row.size(); ++b)
                if (row[a].token_id == row[b].token_id)
                    throw std::invalid_argument("top-k entries " + std::to_string(a) + " and " +
                                                std::to_string(b) + " repeat token id " +
                                                std::to_string(row[a].token_id));
    } else {
        std::vector<int32_t> ids(row.size());
        for (size_t r = 0; r < row.size(); ++r) ids[r] = row[r].token_id;
        std::sort(ids.begin(), ids.end());
        auto dup = std::adjacent_find(ids.begin(), ids.end());
        if (dup != ids.end())
            throw std::invalid_argument("top-k entries repeat token id " + std::to_string(*dup));
    }
}

}  // namespace

TokenMetrics token_metrics_from_topk(std::span<const TopkEntry> row, int32_t claimed, int32_t n_vocab) {
    row_check(row, claimed, n_vocab);
    float gold = -kInf;
    TopkEntry best{0, -kInf};  // torch.argmax over an all -inf row answers 0
    for (const TopkEntry &e : row) {
        if (e.token_id == claimed) gold = e.logprob;
        if (ranks_before(e, best)) best = e;
    }
    int64_t above = 0;
    for (const TopkEntry &e : row) above += e.logprob > gold;

    TokenMetrics m;
    m.predicted = best.token_id;
    m.exact_match = best.token_id == claimed;
    m.logprob = gold;
    m.prob = std::exp(gold);
    m.margin = gold == -kInf ? kInf : best.logprob - gold;
    m.logit_rank = (float)above;
    m.gumbel_rank = m.logit_rank;
    return m;
}

void topk_logprobs_from_logits(std::span<const float> logits, int32_t k, int32_t claimed, TopkLogprobs &out) {
    const int32_t n = (int32_t)logits.size();
    if (k < 0) throw std::invalid_argument("top-k: k must be >= 0, got " + std::to_string(k));
    if (claimed >= n)
        throw std::invalid_argument("claimed token id " + std::to_string(claimed) +
                                    " is outside the vocabulary [0, " + std::to_string(n) + ")");
    k = std::min(k, n);

    // The same two passes as token_metrics_compute's row statistics, so the logprobs agree bit for bit.
    float max_l = -kInf;
    for (int32_t i = 0; i < n; ++i) max_l = std::max(max_l, logits[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n; ++i) sum += std::exp(logits[i] - max_l);
    const float log_sum = (float)std::log(sum);

    // A bounded min-heap of the k best (by ranks_before) seen so far: O(V log k), no V-sized buffer.
    std::vector<TopkEntry> &heap = out.top;
    heap.clear();
    auto worse_on_top = [](const TopkEntry &a, const TopkEntry &b) { return ranks_before(a, b); };
    if (k > 0) {
        for (int32_t i = 0; i < n; ++i) {
            const TopkEntry e{i, logits[i]};
            if ((int32_t)heap.size() < k) {
                heap.push_back(e);
                std::push_heap(heap.begin(), heap.end(), worse_on_top);
            } else if (ranks_before(e, heap.front())) {
                std::pop_heap(heap.begin(), heap.end(), worse_on_top);
                heap.back() = e;
                std::push_heap(heap.begin(), heap.end(), worse_on_top);
            }
        }
        std::sort_heap(heap.begin(), heap.end(), worse_on_top);  // ascending by worse_on_top: best first
        for (TopkEntry &e : heap) e.logprob = (e.logprob - max_l) - log_sum;
    }

    out.claimed_logprob = 0.0f;
    out.claimed_rank = 0;
    if (claimed < 0) return;
    const float ly = logits[claimed];
    int64_t above = 0;
    for (int32_t i = 0; i < n; ++i) above += logits[i] > ly;
    out.claimed_logprob = (ly - max_l) - log_sum;
    out.claimed_rank = (int32_t)above + 1;
}

}  // namespace difr
