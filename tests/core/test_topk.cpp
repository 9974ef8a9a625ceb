// Top-k references: token_metrics_from_topk (token-difr's API verification path) on hand-made rows, and
// topk_logprobs_from_logits (what difr serve returns) on hand-computed logits; then the property that
// links them to token_metrics_compute when the "top-k" is the whole vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "difr/metrics.h"
#include "difr/topk.h"

namespace {

using difr::TokenMetrics;
using difr::TopkEntry;
using difr::TopkLogprobs;

constexpr float kInf = std::numeric_limits<float>::infinity();

// V = 10; the API returned three tokens.
const std::vector<TopkEntry> kRow = {{5, -0.5f}, {2, -1.25f}, {9, -2.0f}};

TEST(TopkMetrics, ClaimedIsTheTopToken) {
    const TokenMetrics m = difr::token_metrics_from_topk(kRow, 5, 10);
    EXPECT_TRUE(m.exact_match);
    EXPECT_EQ(m.predicted, 5);
    EXPECT_FLOAT_EQ(m.prob, 0.60653066f);  // exp(-0.5), not renormalised over the row
    EXPECT_EQ(m.margin, 0.0f);
    EXPECT_EQ(m.logit_rank, 0.0f);
    EXPECT_EQ(m.gumbel_rank, 0.0f);
    EXPECT_EQ(m.logprob, -0.5f);
}

TEST(TopkMetrics, ClaimedIsThirdInTheRow) {
    const TokenMetrics m = difr::token_metrics_from_topk(kRow, 9, 10);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.predicted, 5);
    EXPECT_FLOAT_EQ(m.prob, 0.13533528f);  // exp(-2)
    EXPECT_EQ(m.margin, 1.5f);             // -0.5 - (-2)
    EXPECT_EQ(m.logit_rank, 2.0f);
    EXPECT_EQ(m.gumbel_rank, 2.0f);
    EXPECT_EQ(m.logprob, -2.0f);
}

TEST(TopkMetrics, ClaimedOutsideTheRowIsMinusInfinity) {
    const TokenMetrics m = difr::token_metrics_from_topk(kRow, 3, 10);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.predicted, 5);
    EXPECT_EQ(m.prob, 0.0f);
    EXPECT_EQ(m.margin, kInf);
    EXPECT_EQ(m.logit_rank, 3.0f);   // every returned entry beats -inf; the other -inf entries tie
    EXPECT_EQ(m.gumbel_rank, 3.0f);  // token-difr: same as logit_rank, finite
    EXPECT_EQ(m.logprob, -kInf);
}

TEST(TopkMetrics, TiesGoToTheLowerIdWhateverTheRowOrder) {
    const std::vector<TopkEntry> row = {{7, -1.0f}, {3, -1.0f}, {1, -4.0f}};
    const TokenMetrics m7 = difr::token_metrics_from_topk(row, 7, 10);
    EXPECT_EQ(m7.predicted, 3);
    EXPECT_FALSE(m7.exact_match);
    EXPECT_EQ(m7.margin, 0.0f);
    EXPECT_EQ(m7.logit_rank, 0.0f);
    const TokenMetrics m3 = difr::token_metrics_from_topk(row, 3, 10);
    EXPECT_TRUE(m3.exact_match);
}

TEST(TopkMetrics, EmptyRowPredictsTokenZeroAndMarginIsInfinite) {
    // torch.argmax of an all -inf row is 0, so token-difr calls a claimed 0 an exact match; its margin
    // would be NaN (-inf - -inf), difr's is +inf.
    const TokenMetrics m0 = difr::token_metrics_from_topk({}, 0, 10);
    EXPECT_TRUE(m0.exact_match);
    EXPECT_EQ(m0.margin, kInf);
    const TokenMetrics m4 = difr::token_metrics_from_topk({}, 4, 10);
    EXPECT_FALSE(m4.exact_match);
    EXPECT_EQ(m4.predicted, 0);
    EXPECT_EQ(m4.prob, 0.0f);
    EXPECT_EQ(m4.margin, kInf);
    EXPECT_EQ(m4.logit_rank, 0.0f);
}

TEST(TopkMetrics, BadRowsAreErrors) {
    const std::vector<TopkEntry> dup = {{4, -1.0f}, {4, -2.0f}};
    EXPECT_THROW(difr::token_metrics_from_topk(dup, 4, 10), std::invalid_argument);
    const std::vector<TopkEntry> outside = {{10, -1.0f}};
    EXPECT_THROW(difr::token_metrics_from_topk(outside, 4, 10), std::invalid_argument);
    const std::vector<TopkEntry> nan = {{1, std::nanf("")}};
    EXPECT_THROW(difr::token_metrics_from_topk(nan, 4, 10), std::invalid_argument);
    EXPECT_THROW(difr::token_metrics_from_topk(kRow, 10, 10), std::invalid_argument);
    EXPECT_THROW(difr::token_metrics_from_topk(kRow, -1, 10), std::invalid_argument);
    std::vector<TopkEntry> long_dup;
    for (int32_t i = 0; i < 100; ++i) long_dup.push_back({i, -1.0f});
    long_dup.push_back({42, -3.0f});
    EXPECT_THROW(difr::token_metrics_from_topk(long_dup, 4, 200), std::invalid_argument);
}

// l = {1, 3, 2, 0, 3}: sum exp(l - 3) = e^-2 + 1 + e^-1 + e^-3 + 1 = 2.5530018, log = 0.93726984, so
// logprobs = {-2.9372698, -0.93726984, -1.9372698, -3.9372698, -0.93726984}.
const std::vector<float> kLogits = {1, 3, 2, 0, 3};

TEST(TopkFromLogits, DescendingTiesToLowerIdWithClaimedRank) {
    TopkLogprobs t;
    difr::topk_logprobs_from_logits(kLogits, 3, 0, t);
    ASSERT_EQ(t.top.size(), 3u);
    EXPECT_EQ(t.top[0].token_id, 1);
    EXPECT_EQ(t.top[1].token_id, 4);
    EXPECT_EQ(t.top[2].token_id, 2);
    EXPECT_NEAR(t.top[0].logprob, -0.93726984f, 2e-7);
    EXPECT_EQ(t.top[1].logprob, t.top[0].logprob);
    EXPECT_NEAR(t.top[2].logprob, -1.9372698f, 2e-7);
    EXPECT_NEAR(t.claimed_logprob, -2.9372698f, 4e-7);
    EXPECT_EQ(t.claimed_rank, 4);  // ids 1, 4, 2 are above it
}

TEST(TopkFromLogits, RankCountsOnlyStrictlyGreater) {
    TopkLogprobs t;
    difr::topk_logprobs_from_logits(kLogits, 1, 4, t);
    ASSERT_EQ(t.top.size(), 1u);
    EXPECT_EQ(t.top[0].token_id, 1);
    EXPECT_EQ(t.claimed_rank, 1);  // ties with id 1: rank 1 like vLLM's (logprobs > token's).sum() + 1
}

TEST(TopkFromLogits, KZeroKBeyondVocabularyAndBadArguments) {
    TopkLogprobs t;
    difr::topk_logprobs_from_logits(kLogits, 0, 3, t);
    EXPECT_TRUE(t.top.empty());
    EXPECT_EQ(t.claimed_rank, 5);
    difr::topk_logprobs_from_logits(kLogits, 99, -1, t);
    EXPECT_EQ(t.top.size(), 5u);
    EXPECT_EQ(t.top[4].token_id, 3);
    EXPECT_EQ(t.claimed_rank, 0);
    EXPECT_THROW(difr::topk_logprobs_from_logits(kLogits, -1, 0, t), std::invalid_argument);
    EXPECT_THROW(difr::topk_logprobs_from_logits(kLogits, 2, 5, t), std::invalid_argument);
}

TEST(TopkFromLogits, LogprobIsBitIdenticalToTokenMetrics) {
    std::mt19937 rng(7);
    std::normal_distribution<float> d(0.0f, 4.0f);
    std::vector<float> l(4096);
    for (float &x : l) x = d(rng);
    difr::MetricsScratch scratch;
    TopkLogprobs t;
    for (int32_t y : {0, 17, 999, 4095}) {
        difr::topk_logprobs_from_logits(l, 5, y, t);
        const TokenMetrics m = difr::token_metrics_compute(l, y, difr::SamplingParams{}, nullptr, scratch);
        EXPECT_EQ(t.claimed_logprob, m.logprob) << "token " << y;
        EXPECT_EQ(t.claimed_rank, (int32_t)m.logit_rank + 1);
    }
}

// Property: verifying against the full-vocabulary "top-k" (k = V) of a row gives token_metrics_compute's
// greedy metrics on the raw logits. log_softmax subtracts the same constant (max + log-sum-exp) from every
// logit, so what only depends on the order and on differences is invariant: predicted, exact_match,
// logit_rank, gumbel_rank; margin up to the rounding of the two subtractions; logprob is the same number.
// prob is not: token_metrics_compute's greedy prob is the indicator [y == argmax], the top-k path's is
// exp(logprob). Logits on a 1/64 grid within [-32, 32] keep l - max exact and the subtraction of the
// log-sum-exp (< 11 for V = 49152) order-preserving, so even ties survive the shift and the comparison
// is exact; the grid makes ties frequent, exercising lowest-id tie breaking.
TEST(TopkProperty, FullVocabularyTopkEqualsGreedyMetricsOnLogits) {
    const int32_t V = 49152;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int32_t> grid(-32 * 64, 32 * 64);
    std::uniform_int_distribution<int32_t> pick(0, V - 1);
    std::vector<float> l(V);
    difr::MetricsScratch scratch;
    TopkLogprobs t;
    int checked = 0, matched_argmax = 0;
    for (int row = 0; row < 6; ++row) {
        for (float &x : l) x = (float)grid(rng) / 64.0f;
        int32_t top = 0;
        for (int32_t i = 1; i < V; ++i)
            if (l[i] > l[top]) top = i;
        for (int32_t y : {top, pick(rng), pick(rng)}) {
            difr::topk_logprobs_from_logits(l, V, -1, t);
            ASSERT_EQ((int32_t)t.top.size(), V);
            const TokenMetrics a = difr::token_metrics_from_topk(t.top, y, V);
            const TokenMetrics b =
                difr::token_metrics_compute(l, y, difr::SamplingParams{}, nullptr, scratch);
            EXPECT_EQ(a.predicted, b.predicted);
            EXPECT_EQ(a.exact_match, b.exact_match);
            EXPECT_EQ(a.logit_rank, b.logit_rank);
            EXPECT_EQ(a.gumbel_rank, b.gumbel_rank);
            EXPECT_EQ(a.logprob, b.logprob);
            // (l_max - s) - (l_y - s) after rounding each term to float (|term| < 75: ulp 2^-17 = 7.6e-6).
            EXPECT_NEAR(a.margin, b.margin, 1.6e-5);
            EXPECT_FLOAT_EQ(a.prob, std::exp(b.logprob));
            matched_argmax += a.exact_match;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 18);
    EXPECT_GE(matched_argmax, 6);  // the argmax rows, at least
}

}  // namespace
