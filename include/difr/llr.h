// difr's per-token log-likelihood ratio against honest behaviour (docs/statistics.md): token categories, the
// ratio table fitted on honest tokens, bucket scores and their exact quantile under an i.i.d. model.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "difr/buckets.h"

namespace difr {

// A token falls in one of four categories: an exact match, or a mismatch whose margin is small (<= 0.1),
// medium (<= 1) or large (> 1, or +inf). Honest numerical noise flips near-ties (small margins); deviations
// also produce confident disagreements.
constexpr int kTokenCategories = 4;
int token_category(const TokenObs &t);

struct LlrTable {
    std::array<double, kTokenCategories> honest{};  // q0: smoothed category frequencies on honest tokens
    std::array<double, kTokenCategories> llr{};     // log(q1 / q0) per category
    int64_t honest_tokens = 0;
    double rho = 0.0;  // the contamination rate of the alternative
};
// q0 = (count + 1/2) / (N + 2) (Krichevsky-Trofimov); the alternative is a provider that, on a fraction rho
// of tokens, emits a mismatch spread evenly over the three mismatch categories: q1 = (1 - rho) q0 + rho m.
LlrTable llr_table_fit(std::span<const int64_t> honest_counts, double rho);
std::array<int64_t, kTokenCategories> token_category_counts(std::span<const TokenObs> tokens);
double token_llr(const LlrTable &table, const TokenObs &t);
// Bucket means of token_llr (same bucketing as bucket_features).
std::vector<double> bucket_llr(const LlrTable &table, std::span<const TokenObs> tokens, size_t n);

// The (1 - alpha) quantile of the bucket score (mean token_llr over n tokens) when the n tokens are i.i.d.
// with category frequencies q: the smallest attainable score t with P(score > t) <= alpha. Exact: sums
// multinomial probabilities over the mismatch counts (k1, k2, k3), up to a total count whose binomial tail is
// below 1e-12 alpha (that remainder is counted as exceeding, so the quantile errs on the accepting side).
double llr_quantile_iid(const LlrTable &table, std::span<const double> q, size_t n, double alpha);

}  // namespace difr
