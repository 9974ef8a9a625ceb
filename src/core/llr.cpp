#include "difr/llr.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "difr/stats.h"

namespace difr {

int token_category(const TokenObs &t) {
    if (t.exact_match) return 0;
    if (!std::isfinite(t.margin) || t.margin > 1.0f) return 3;
    return t.margin > 0.1f ? 2 : 1;
}

std::array<int64_t, kTokenCategories> token_category_counts(std::span<const TokenObs> tokens) {
    std::array<int64_t, kTokenCategories> counts{};
    for (const TokenObs &t : tokens) ++counts[token_category(t)];
    return counts;
}

LlrTable llr_table_fit(std::span<const int64_t> honest_counts, double rho) {
    if (honest_counts.size() != kTokenCategories)
        throw std::invalid_argument("llr table: one count per category");
    if (!(rho > 0.0 && rho < 1.0)) throw std::invalid_argument("llr table: rho must be in (0, 1)");
    LlrTable t;
    t.rho = rho;
    for (int64_t c : honest_counts) t.honest_tokens += c;
    const double denom = double(t.honest_tokens) + 0.5 * kTokenCategories;
    for (int c = 0; c < kTokenCategories; ++c) {
        t.honest[c] = (double(honest_counts[c]) + 0.5) / denom;
        const double mismatch_share = c == 0 ? 0.0 : 1.0 / (kTokenCategories - 1);
        t.llr[c] = std::log((1.0 - rho) + rho * mismatch_share / t.honest[c]);
    }
    return t;
}

double token_llr(const LlrTable &table, const TokenObs &t) {
    return table.llr[token_category(t)];
}

std::vector<double> bucket_llr(const LlrTable &table, std::span<const TokenObs> tokens, size_t n) {
    if (n == 0) throw std::invalid_argument("bucket size must be >= 1");
    std::vector<double> scores(tokens.size() / n);
    for (size_t b = 0; b < scores.size(); ++b) {
        double s = 0.0;
        for (size_t i = b * n; i < (b + 1) * n; ++i) s += token_llr(table, tokens[i]);
        scores[b] = s / double(n);
    }
    return scores;
}

double llr_quantile_iid(const LlrTable &table, std::span<const double> q, size_t n, double alpha) {
    if (q.size() != kTokenCategories || n == 0)
        throw std::invalid_argument("llr quantile: q per category, n >= 1");
    for (int c = 1; c < kTokenCategories; ++c)
        if (!(table.llr[c] > table.llr[0]))
            throw std::invalid_argument("llr quantile: a mismatch must outscore a match");
    const double miss = q[1] + q[2] + q[3];
    // Largest total mismatch count worth enumerating; beyond it the probability mass is negligible.
    int64_t kmax = int64_t(n);
    double tail = 0.0;
    for (int64_t k = 0; k <= int64_t(n); ++k)
        if (binomial_sf(k + 1, int64_t(n), miss) < 1e-12 * alpha) {
            kmax = k;
            tail = binomial_sf(k + 1, int64_t(n), miss);
            break;
        }
    std::vector<std::pair<double, double>> outcomes;  // (score, probability)
    const double dn = double(n), lg_n = std::lgamma(dn + 1.0);
    auto lpow = [](double k, double p) { return k == 0 ? 0.0 : (p > 0 ? k * std::log(p) : -INFINITY); };
    for (int64_t k1 = 0; k1 <= kmax; ++k1)
        for (int64_t k2 = 0; k1 + k2 <= kmax; ++k2)
            for (int64_t k3 = 0; k1 + k2 + k3 <= kmax; ++k3) {
                const double a = double(k1), b = double(k2), c = double(k3), k0 = dn - a - b - c;
                const double lp = lg_n - std::lgamma(k0 + 1) - std::lgamma(a + 1) - std::lgamma(b + 1) -
                                  std::lgamma(c + 1) + lpow(k0, q[0]) + lpow(a, q[1]) + lpow(b, q[2]) +
                                  lpow(c, q[3]);
                const double score =
                    (k0 * table.llr[0] + a * table.llr[1] + b * table.llr[2] + c * table.llr[3]) / dn;
                outcomes.emplace_back(score, std::exp(lp));
            }
    std::sort(outcomes.begin(), outcomes.end(), [](auto &x, auto &y) { return x.first > y.first; });
    double above = tail;  // P(score > current candidate)
    for (size_t i = 0; i < outcomes.size();) {
        size_t j = i;
        double p = 0.0;
        for (; j < outcomes.size() && outcomes[j].first == outcomes[i].first; ++j) p += outcomes[j].second;
        // Flagging this score too would exceed alpha (a relative slack absorbs rounding of exp/lgamma).
        if (above + p > alpha * (1 + 1e-9)) return outcomes[i].first;
        above += p;
        i = j;
    }
    return outcomes.back().first;
}

}  // namespace difr
