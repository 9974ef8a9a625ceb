// SummaryAccumulator and summary_audit_line: token-difr's compute_metrics_summary and AuditResult.
#include <gtest/gtest.h>

#include <limits>

#include "difr/summary.h"

namespace {

using difr::MetricsSummary;
using difr::SummaryAccumulator;
using difr::TokenMetrics;

constexpr float kInf = std::numeric_limits<float>::infinity();

TokenMetrics token(bool match, float prob, float margin, float logit_rank, float gumbel_rank, float logprob) {
    TokenMetrics m;
    m.exact_match = match;
    m.predicted = 0;
    m.prob = prob;
    m.margin = margin;
    m.logit_rank = logit_rank;
    m.gumbel_rank = gumbel_rank;
    m.logprob = logprob;
    return m;
}

TEST(Summary, EmptyIsAllZero) {
    const MetricsSummary s = SummaryAccumulator().finish();
    EXPECT_EQ(s.total_tokens, 0);
    EXPECT_EQ(s.n_sequences, 0);
    EXPECT_EQ(s.skipped_sequences, 0);
    EXPECT_EQ(s.exact_match_rate, 0.0);
    EXPECT_EQ(s.avg_prob, 0.0);
    EXPECT_EQ(s.avg_margin, 0.0);
    EXPECT_EQ(s.infinite_margin_rate, 0.0);
    EXPECT_EQ(s.avg_logit_rank, 0.0);
    EXPECT_EQ(s.avg_gumbel_rank, 0.0);
    EXPECT_EQ(s.avg_logprob, 0.0);
    EXPECT_EQ(difr::summary_audit_line(s), "AuditResult(0.0% match rate, 0 tokens across 0 sequences)");
}

TEST(Summary, AveragesEveryField) {
    // Four tokens in one sequence (all values exact in binary):
    //   match  prob   margin  logit_rank  gumbel_rank  logprob
    //   yes    0.5    0       0           0            -0.5
    //   yes    0.75   0       1           0            -0.25
    //   no     0.25   2       3           2            -2
    //   yes    1      0       0           0            0
    SummaryAccumulator acc;
    acc.add(token(true, 0.5f, 0.0f, 0, 0, -0.5f));
    acc.add(token(true, 0.75f, 0.0f, 1, 0, -0.25f));
    acc.add(token(false, 0.25f, 2.0f, 3, 2, -2.0f));
    acc.add(token(true, 1.0f, 0.0f, 0, 0, 0.0f));
    acc.end_sequence();
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.total_tokens, 4);
    EXPECT_EQ(s.n_sequences, 1);
    EXPECT_EQ(s.skipped_sequences, 0);
    EXPECT_EQ(s.exact_match_rate, 0.75);  // 3 / 4
    EXPECT_EQ(s.avg_prob, 0.625);         // 2.5 / 4
    EXPECT_EQ(s.avg_margin, 0.5);         // 2 / 4
    EXPECT_EQ(s.infinite_margin_rate, 0.0);
    EXPECT_EQ(s.avg_logit_rank, 1.0);   // 4 / 4
    EXPECT_EQ(s.avg_gumbel_rank, 0.5);  // 2 / 4
    EXPECT_EQ(s.avg_logprob, -0.6875);  // -2.75 / 4
}

TEST(Summary, MarginAveragesFiniteMarginsOnly) {
    // margins {1, +inf, 3, 0.5}: the finite ones average (1 + 3 + 0.5) / 3 = 1.5; 1 of 4 is infinite.
    SummaryAccumulator acc;
    acc.add(token(false, 0.25f, 1.0f, 1, 1, -1));
    acc.add(token(false, 0.0f, kInf, 5, kInf, -6));
    acc.add(token(false, 0.125f, 3.0f, 2, 3, -2));
    acc.add(token(false, 0.375f, 0.5f, 1, 1, -1));
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.avg_margin, 1.5);
    EXPECT_EQ(s.infinite_margin_rate, 0.25);
    // A filtered token still counts in the other averages: prob 0 is averaged in, (0.25 + 0 + 0.125 + 0.375)
    // / 4.
    EXPECT_EQ(s.avg_prob, 0.1875);
    EXPECT_EQ(s.avg_logit_rank, 2.25);  // 9 / 4
}

TEST(Summary, AllMarginsInfinite) {
    SummaryAccumulator acc;
    acc.add(token(false, 0.0f, kInf, 7, kInf, -9));
    acc.add(token(false, 0.0f, kInf, 4, kInf, -8));
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.avg_margin, std::numeric_limits<double>::infinity());
    EXPECT_EQ(s.infinite_margin_rate, 1.0);
}

TEST(Summary, OneInfiniteGumbelRankMakesTheAverageInfinite) {
    // token-difr averages gumbel_rank over all tokens, so one +inf (a filtered claimed token) makes it +inf;
    // logit_rank is always finite and averages normally: (0 + 6) / 2 = 3.
    SummaryAccumulator acc;
    acc.add(token(true, 0.9f, 0.0f, 0, 0, -0.1f));
    acc.add(token(false, 0.0f, kInf, 6, kInf, -5));
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.avg_gumbel_rank, std::numeric_limits<double>::infinity());
    EXPECT_EQ(s.avg_logit_rank, 3.0);
    EXPECT_EQ(s.avg_margin, 0.0);  // the only finite margin is 0
}

TEST(Summary, SequencesWithoutTokensAreSkippedNotCounted) {
    // seq 0: 2 tokens; seq 1: none; seq 2: 1 token; seq 3: none -> 2 scored, 2 skipped, 3 tokens.
    SummaryAccumulator acc;
    acc.add(token(true, 1, 0, 0, 0, 0));
    acc.add(token(true, 1, 0, 0, 0, 0));
    acc.end_sequence();
    acc.end_sequence();
    acc.add(token(false, 0, 1, 1, 1, -1));
    acc.end_sequence();
    acc.end_sequence();
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.total_tokens, 3);
    EXPECT_EQ(s.n_sequences, 2);
    EXPECT_EQ(s.skipped_sequences, 2);
}

TEST(Summary, AnOpenSequenceWithTokensCountsAtFinish) {
    // The last sequence need not be closed: its tokens are there, so it is one sequence.
    SummaryAccumulator acc;
    acc.add(token(true, 1, 0, 0, 0, 0));
    acc.end_sequence();
    acc.add(token(true, 1, 0, 0, 0, 0));
    EXPECT_EQ(acc.finish().n_sequences, 2);
    acc.end_sequence();  // closing it afterwards does not count it twice
    EXPECT_EQ(acc.finish().n_sequences, 2);
    EXPECT_EQ(acc.finish().skipped_sequences, 0);
}

TEST(Summary, OnlySkippedSequences) {
    SummaryAccumulator acc;
    acc.end_sequence();
    acc.end_sequence();
    const MetricsSummary s = acc.finish();
    EXPECT_EQ(s.total_tokens, 0);
    EXPECT_EQ(s.n_sequences, 0);
    EXPECT_EQ(s.skipped_sequences, 2);
}

TEST(SummaryAuditLine, TokenDifrReadmeExample) {
    MetricsSummary s;
    s.exact_match_rate = 0.983;
    s.total_tokens = 18421;
    s.n_sequences = 100;
    EXPECT_EQ(difr::summary_audit_line(s),
              "AuditResult(98.3% match rate, 18421 tokens across 100 sequences)");
}

TEST(SummaryAuditLine, FromAccumulatedTokens) {
    // 2 matches of 3 tokens over 2 sequences: 66.666...% prints with one decimal as 66.7%.
    SummaryAccumulator acc;
    acc.add(token(true, 1, 0, 0, 0, 0));
    acc.add(token(false, 0, 1, 1, 1, -1));
    acc.end_sequence();
    acc.add(token(true, 1, 0, 0, 0, 0));
    acc.end_sequence();
    EXPECT_EQ(difr::summary_audit_line(acc.finish()),
              "AuditResult(66.7% match rate, 3 tokens across 2 sequences)");
}

TEST(SummaryAuditLine, PerfectMatch) {
    SummaryAccumulator acc;
    for (int i = 0; i < 5; ++i) acc.add(token(true, 1, 0, 0, 0, 0));
    acc.end_sequence();
    EXPECT_EQ(difr::summary_audit_line(acc.finish()),
              "AuditResult(100.0% match rate, 5 tokens across 1 sequences)");
}

}  // namespace
