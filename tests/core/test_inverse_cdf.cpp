// The llama.cpp profile's inverse-CDF sampler and its metrics (difr/inverse_cdf.h). Hand-checked numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "difr/inverse_cdf.h"

namespace difr {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// x such that the chain's probabilities are exactly 0.5, 0.3, 0.2 in this order (the CDF steps at 0.5, 0.8).
std::vector<float> three_way() {
    return {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
}

TEST(LlamaCppRng, FirstDrawIsTwoMt19937WordsLowFirst) {
    // mt19937(42) emits 1608637542, 3421126067 first; libstdc++'s generate_canonical<double, 53> combines two
    // 32-bit words as (w0 + w1 * 2^32) / 2^64.
    LlamaCppRng rng(42);
    const double expected = (1608637542.0 + 3421126067.0 * 4294967296.0) / 18446744073709551616.0;
    EXPECT_EQ(rng.next(), expected);
    EXPECT_NEAR(expected, 0.796542984287846, 1e-15);
}

TEST(InverseCdf, SelectsTheFirstCandidateWhoseRunningSumReachesTheDraw) {
    const std::vector<float> x = three_way();
    EXPECT_EQ(inverse_cdf_select(x, 0.0), 0u);
    EXPECT_EQ(inverse_cdf_select(x, 0.49), 0u);
    EXPECT_EQ(inverse_cdf_select(x, 0.51), 1u);
    EXPECT_EQ(inverse_cdf_select(x, 0.79), 1u);
    EXPECT_EQ(inverse_cdf_select(x, 0.81), 2u);
    EXPECT_EQ(inverse_cdf_select(x, 0.999999), 2u);
}

TEST(InverseCdf, OrderIsTheChainsNotTheTokenIds) {
    // The same probabilities listed in another order select another token for the same draw.
    const std::vector<float> x = {std::log(0.2f), std::log(0.5f), std::log(0.3f)};
    EXPECT_EQ(inverse_cdf_select(x, 0.6), 1u);  // steps at 0.2, 0.7
    EXPECT_EQ(inverse_cdf_select(x, 0.1), 0u);
}

TEST(InverseCdf, SingleCandidateIsTakenWhateverTheDraw) {
    const std::vector<float> x = {3.0f};
    EXPECT_EQ(inverse_cdf_select(x, 0.999), 0u);
}

TEST(InverseCdfMetrics, MatchHasZeroMarginAndRank) {
    // Token ids in the chain's order: 7, 2, 5. A draw of 0.6 lands on token 2 (interval (0.5, 0.8]).
    const std::vector<float> logits = {0, 0, std::log(0.3f), 0, 0, std::log(0.2f), 0, std::log(0.5f)};
    const std::vector<int32_t> ids = {7, 2, 5};
    const TokenMetrics m = token_metrics_inverse_cdf(logits, 2, ids, three_way(), 0.6);
    EXPECT_TRUE(m.exact_match);
    EXPECT_EQ(m.predicted, 2);
    EXPECT_NEAR(m.prob, 0.3f, 1e-6);
    EXPECT_EQ(m.margin, 0.0f);
    EXPECT_EQ(m.gumbel_rank, 0.0f);
}

TEST(InverseCdfMetrics, MarginIsTheDistanceFromTheDrawToTheClaimedInterval) {
    const std::vector<float> logits = {0, 0, std::log(0.3f), 0, 0, std::log(0.2f), 0, std::log(0.5f)};
    const std::vector<int32_t> ids = {7, 2, 5};
    // Claimed 5 owns (0.8, 1]: the draw 0.6 is 0.2 below it, one step along the chain's order from token 2
    // (index 1) to token 5 (index 2): gumbel_rank 1.
    TokenMetrics m = token_metrics_inverse_cdf(logits, 5, ids, three_way(), 0.6);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.predicted, 2);
    EXPECT_NEAR(m.margin, 0.2f, 1e-6);
    EXPECT_NEAR(m.prob, 0.2f, 1e-6);
    EXPECT_EQ(m.gumbel_rank, 1.0f);
    // Claimed 7 owns [0, 0.5]: the draw is 0.1 above it.
    m = token_metrics_inverse_cdf(logits, 7, ids, three_way(), 0.6);
    EXPECT_NEAR(m.margin, 0.1f, 1e-6);
    EXPECT_EQ(m.gumbel_rank, 1.0f);
    // From a draw of 0.95 (on token 5) back to token 7: 0.45, two candidates away.
    m = token_metrics_inverse_cdf(logits, 7, ids, three_way(), 0.95);
    EXPECT_EQ(m.predicted, 5);
    EXPECT_NEAR(m.margin, 0.45f, 1e-6);
    EXPECT_EQ(m.gumbel_rank, 2.0f);
}

TEST(InverseCdfMetrics, RawRowMetricsIgnoreTheChain) {
    const std::vector<float> logits = {0, 0, std::log(0.3f), 0, 0, std::log(0.2f), 0, std::log(0.5f)};
    const std::vector<int32_t> ids = {7, 2, 5};
    const TokenMetrics m = token_metrics_inverse_cdf(logits, 5, ids, three_way(), 0.6);
    EXPECT_EQ(m.logit_rank, 7.0f);  // every other logit is above log 0.2
    double sum = 0.0;
    for (float l : logits) sum += std::exp((double)l);
    EXPECT_NEAR(m.logprob, std::log(0.2) - std::log(sum), 1e-6);
}

TEST(InverseCdfMetrics, RemovedOrMinusInfinityClaimIsMasked) {
    const std::vector<float> logits = {0, 0, std::log(0.3f), 0, 0, std::log(0.2f), 0, std::log(0.5f)};
    const std::vector<int32_t> ids = {7, 2, 5};
    TokenMetrics m = token_metrics_inverse_cdf(logits, 0, ids, three_way(), 0.6);  // not a candidate
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.margin, kInf);
    EXPECT_EQ(m.gumbel_rank, kInf);
    EXPECT_EQ(m.prob, 0.0f);
    const std::vector<float> x = {std::log(0.5f), std::log(0.5f), -kInf};
    m = token_metrics_inverse_cdf(logits, 5, ids, x, 0.6);
    EXPECT_EQ(m.margin, kInf);
}

}  // namespace
}  // namespace difr
