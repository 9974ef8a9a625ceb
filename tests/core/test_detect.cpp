// The lab's detectors: bucketing, the per-token likelihood ratio, calibration on honest data, the SPRT on
// synthetic Bernoulli streams (against its exact distribution and Wald's identity), and one pass end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "difr/detect.h"

namespace {

using difr::TokenObs;

constexpr float kInf = std::numeric_limits<float>::infinity();

TokenObs match(float prob = 0.5f) {
    return {true, prob, 0.0f};
}
TokenObs miss(float margin, float prob = 0.5f) {
    return {false, prob, margin};
}

TEST(Buckets, MeansOfCappedMarginProbMatchAndPartialBucketDropped) {
    const std::vector<TokenObs> t = {match(1.0f), miss(0.2f, 0.1f), miss(kInf, 0.0f), miss(2.0f, 0.4f),
                                     match(0.8f), match(0.6f),      miss(0.1f, 0.3f)};
    EXPECT_EQ(difr::margin_capped(kInf), 0.5);
    EXPECT_EQ(difr::margin_capped(2.0f), 0.5);
    EXPECT_DOUBLE_EQ(difr::margin_capped(0.2f), double(0.2f));
    const std::vector<double> b = difr::bucket_features(t, 3);  // 7 tokens: 2 buckets, the 7th token dropped
    ASSERT_EQ(b.size(), 2 * difr::kBucketFeatures);
    EXPECT_DOUBLE_EQ(b[0], (0.0 + double(0.2f) + 0.5) / 3);
    EXPECT_DOUBLE_EQ(b[1], (1.0 + double(0.1f) + 0.0) / 3);
    EXPECT_DOUBLE_EQ(b[2], 1.0 / 3);
    EXPECT_DOUBLE_EQ(b[3], (0.5 + 0 + 0) / 3);
    EXPECT_DOUBLE_EQ(b[4], (double(0.4f) + double(0.8f) + double(0.6f)) / 3);
    EXPECT_DOUBLE_EQ(b[5], 2.0 / 3);
    EXPECT_TRUE(difr::bucket_features(t, 8).empty());
    EXPECT_EQ(difr::bucket_features(t, 1).size(), 7 * difr::kBucketFeatures);
}

TEST(Llr, CategoriesAndTable) {
    EXPECT_EQ(difr::token_category(match()), 0);
    EXPECT_EQ(difr::token_category(miss(0.1f)), 1);
    EXPECT_EQ(difr::token_category(miss(0.5f)), 2);
    EXPECT_EQ(difr::token_category(miss(1.0f)), 2);
    EXPECT_EQ(difr::token_category(miss(1.5f)), 3);
    EXPECT_EQ(difr::token_category(miss(kInf)), 3);
    const std::vector<int64_t> counts = {100, 0, 0, 0};
    const difr::LlrTable t = difr::llr_table_fit(counts, 0.05);
    // q0 = (count + 1/2) / (100 + 2); q1 = 0.95 q0 + 0.05 / 3 on each mismatch category.
    EXPECT_DOUBLE_EQ(t.honest[0], 100.5 / 102);
    EXPECT_DOUBLE_EQ(t.honest[3], 0.5 / 102);
    EXPECT_DOUBLE_EQ(t.llr[0], std::log(0.95));
    EXPECT_NEAR(t.llr[3], std::log(0.95 + 0.05 / 3 * 102 / 0.5), 1e-14);
    EXPECT_EQ(t.llr[1], t.llr[3]);
    // Honest noise in a category makes a mismatch there weaker evidence.
    const difr::LlrTable noisy = difr::llr_table_fit(std::vector<int64_t>{90, 10, 0, 0}, 0.05);
    EXPECT_LT(noisy.llr[1], noisy.llr[3]);
    EXPECT_THROW(difr::llr_table_fit(counts, 0.0), std::invalid_argument);
}

// Honest training and held-out streams: mismatches (margin 0.05) at rate 2%. At n = 10 a bucket with j
// mismatches scores (j llr1 + (10 - j) llr0) / 10; P(j >= 2) = 1.62% > 1% but P(j >= 3) = 0.086%, so the
// calibrated threshold is the two-mismatch score and held-out buckets are flagged only with >= 3 mismatches.
TEST(Calibration, HeldOutFalsePositiveRateWithinBinomialBound) {
    std::mt19937_64 rng(7);
    std::bernoulli_distribution flip(0.02);
    auto stream = [&](size_t len) {
        std::vector<TokenObs> s;
        for (size_t i = 0; i < len; ++i) s.push_back(flip(rng) ? miss(0.05f) : match());
        return s;
    };
    const std::vector<TokenObs> train = stream(50000), test = stream(50000);
    const difr::LlrTable table = difr::llr_table_fit(difr::token_category_counts(train), 0.05);
    const std::vector<double> honest = difr::bucket_llr(table, train, 10);
    const double tau = difr::threshold_calibrate(honest, 0.01);
    EXPECT_NEAR(tau, (2 * table.llr[1] + 8 * table.llr[0]) / 10, 1e-12);
    const std::vector<double> held_out = difr::bucket_llr(table, test, 10);
    ASSERT_EQ(held_out.size(), 5000u);
    // Flagged count ~ Binomial(5000, 0.00086): mean 4.3; P(X >= 15) < 1e-4. And the 1% target itself
    // (50 of 5000) is far above.
    const double fpr = difr::rate_above(held_out, tau);
    EXPECT_LE(fpr * 5000, 15);
    EXPECT_LE(fpr, 0.01);
}

// Bernoulli flips in category 1 at 1%: at n = 100 the flip count is Binomial(100, 0.01), P(k >= 4) = 1.84%
// and P(k >= 5) = 0.34%, so the 99% quantile is the score of 4 flips (buckets with 5 or more are flagged).
TEST(Calibration, IidQuantileIsTheBinomialQuantile) {
    const difr::LlrTable t = difr::llr_table_fit(std::vector<int64_t>{990, 10, 0, 0}, 0.05);
    const std::vector<double> q = {0.99, 0.01, 0.0, 0.0};
    EXPECT_NEAR(difr::binomial_sf(4, 100, 0.01), 0.01837, 1e-5);
    EXPECT_NEAR(difr::binomial_sf(5, 100, 0.01), 0.00343, 1e-5);
    EXPECT_NEAR(difr::llr_quantile_iid(t, q, 100, 0.01), (4 * t.llr[1] + 96 * t.llr[0]) / 100, 1e-12);
    // n = 1: P(flip) = 1% is allowed exactly (P(score > llr1) = 0 <= 1% and P(score > llr0) = 1% <= 1%).
    EXPECT_NEAR(difr::llr_quantile_iid(t, q, 1, 0.01), t.llr[0], 1e-12);
    EXPECT_NEAR(difr::llr_quantile_iid(t, q, 1, 0.009), t.llr[1], 1e-12);
    // Mismatches split over two categories of different weight: at n = 2 the outcomes above the quantile
    // must carry at most alpha. q = (0.9, 0.05, 0, 0.05), scores (3.54, 2.23, 1.74, ...) for (two cat-3,
    // cat-3 + cat-1, cat-3 + match, ...) with probabilities (0.0025, 0.005, 0.09, ...): the first two are
    // flagged (0.0075 <= 0.01), cat-3 + match is the quantile.
    const std::vector<double> q2 = {0.9, 0.05, 0.0, 0.05};
    const double tau = difr::llr_quantile_iid(t, q2, 2, 0.01);
    EXPECT_NEAR(tau, (t.llr[3] + t.llr[0]) / 2, 1e-12);
}

// Exact distribution of the SPRT's stopping time for i.i.d. Bernoulli(r) tokens with per-token LLR up (1) or
// down (0): dynamic programming over the number of mismatches k among t tokens, P(N > t) summed for E[N].
struct SprtExact {
    double mean = 0, second = 0, p_upper = 0;
    std::vector<double> survival;  // P(N > t)
    double cdf(int64_t t) const {
        return t < 0 ? 0.0 : t >= int64_t(survival.size()) ? 1.0 : 1.0 - survival[size_t(t)];
    }
};
SprtExact sprt_exact(double r, double up, double down, const difr::SprtBounds &b) {
    SprtExact e;
    std::map<int, double> alive = {{0, 1.0}};  // k -> probability, still undecided after t tokens
    for (int t = 0; t < 100000 && !alive.empty(); ++t) {
        double p_alive = 0;
        for (auto &[k, p] : alive) p_alive += p;
        e.survival.push_back(p_alive);
        e.mean += p_alive;                    // P(N > t)
        e.second += (2.0 * t + 1) * p_alive;  // E[N^2] = sum (2t + 1) P(N > t)
        if (p_alive < 1e-16) break;
        std::map<int, double> next;
        for (auto &[k, p] : alive)
            for (int x = 0; x < 2; ++x) {
                const int k2 = k + x;
                const double q = p * (x ? r : 1 - r), s = k2 * up + (t + 1 - k2) * down;
                if (s >= b.upper)
                    e.p_upper += q;
                else if (s > b.lower)
                    next[k2] += q;
            }
        alive.swap(next);
    }
    return e;
}

struct BernoulliCase {
    double p0, p1, rate;
};

void check_sprt(const BernoulliCase &c, uint64_t seed) {
    const double up = std::log(c.p1 / c.p0), down = std::log((1 - c.p1) / (1 - c.p0));
    const difr::SprtBounds b = difr::sprt_bounds(0.01, 0.01);
    const SprtExact ex = sprt_exact(c.rate, up, down, b);
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution flip(c.rate);
    std::vector<double> llrs(2000000);
    for (double &l : llrs) l = flip(rng) ? up : down;
    const difr::SprtRun run = difr::sprt_run(llrs, b);
    ASSERT_GT(run.decisions, 100000);
    // Restarted SPRTs on an i.i.d. stream are i.i.d. decisions: the mean stopping time is within 5 standard
    // errors of the exact expectation, the alarm rate within 5 binomial standard errors of the exact one.
    const double var = ex.second - ex.mean * ex.mean, d = double(run.decisions);
    EXPECT_NEAR(run.mean_tokens(), ex.mean, 5 * std::sqrt(var / d)) << "rate " << c.rate;
    // The 99th percentile of stopping times, against the exact distribution: P(N <= p99) >= 0.99 up to
    // sampling error, and P(N <= p99 - 1) < 0.99 likewise; 0.002 is over 6 standard errors of an empirical
    // CDF at 0.99 with > 100000 decisions (sqrt(0.99 * 0.01 / 1e5) = 0.0003).
    EXPECT_GE(ex.cdf(run.p99_tokens), 0.99 - 0.002);
    EXPECT_LT(ex.cdf(run.p99_tokens - 1), 0.99 + 0.002);
    const double alarms = double(run.deviation_decisions) / d;
    EXPECT_NEAR(alarms, ex.p_upper, 5 * std::sqrt(ex.p_upper * (1 - ex.p_upper) / d) + 1e-12);
    // Wald's identity E[S_N] = E[N] mu with the overshoot bounded by one step: E[N] lies in
    // [(P_A A + P_B (B + down)) / mu, (P_A (A + up) + P_B B) / mu] for mu > 0 (swapped for mu < 0).
    const double mu = c.rate * up + (1 - c.rate) * down, pa = ex.p_upper, pb = 1 - pa;
    const double lo = (pa * b.upper + pb * (b.lower + down)) / mu,
                 hi = (pa * (b.upper + up) + pb * b.lower) / mu;
    EXPECT_GE(ex.mean, std::min(lo, hi) - 1e-9);
    EXPECT_LE(ex.mean, std::max(lo, hi) + 1e-9);
}

TEST(Sprt, DeviationStreamMatchesExactAndWald) {
    check_sprt({0.01, 0.3, 0.3}, 1);  // deviation: 30% mismatches
    const double up = std::log(30.0), down = std::log(0.7 / 0.99);
    const SprtExact ex = sprt_exact(0.3, up, down, difr::sprt_bounds(0.01, 0.01));
    EXPECT_LT(1 - ex.p_upper, 0.01);  // misses: at most beta (Wald: beta' <= beta / (1 - alpha))
    EXPECT_LT(ex.mean, 10.0);         // Wald's approximation, ignoring overshoot: ~4.9 / mu = 7.5 tokens
}

TEST(Sprt, HonestStreamsRarelyAlarm) {
    check_sprt({0.01, 0.3, 0.01}, 2);
    const SprtExact ex =
        sprt_exact(0.01, std::log(30.0), std::log(0.7 / 0.99), difr::sprt_bounds(0.01, 0.01));
    EXPECT_LT(ex.p_upper, 0.01 / 0.99);  // Wald's bound on false alarms: alpha / (1 - beta)
    // A stream without any mismatch decides "honest" after exactly ceil(B / down) tokens, every time:
    // B = log(0.01 / 0.99) = -4.595, down = log(0.7 / 0.99) = -0.3466, so 14 tokens.
    std::vector<double> zeros(1400, std::log(0.7 / 0.99));
    const difr::SprtRun run = difr::sprt_run(zeros, difr::sprt_bounds(0.01, 0.01));
    EXPECT_EQ(run.decisions, 100);
    EXPECT_EQ(run.honest_decisions, 100);
    EXPECT_EQ(run.mean_tokens(), 14.0);
    EXPECT_EQ(run.p99_tokens, 14);
    EXPECT_EQ(run.undecided_tokens, 0);
}

// A deterministic pass over 400 prompts of 30 tokens: the exact reference, "threads" (the reference's tokens
// bit for bit: a duplicate, counted once), "flips" (a near-tie flip every 200 tokens) and a deviation with a
// filtered-out token at every third position of each answer. Every aligned bucket of 3 tokens holds exactly
// one such token, so both methods detect it at n = 3 and not at n = 1 (TPR 1/3 there).
difr::ConfigTokens config_of(const char *name, bool honest, int prompts,
                             const std::function<TokenObs(int, int)> &token_at) {
    difr::ConfigTokens c{name, honest, {}};
    c.sequences.resize(size_t(prompts));
    for (int q = 0; q < prompts; ++q)
        for (int i = 0; i < 30; ++i) c.sequences[size_t(q)].push_back(token_at(q, i));
    return c;
}

TEST(Pass, DeterministicStreamsGiveExactTokensNeeded) {
    auto exact = [](int, int) { return match(); };
    auto flips = [](int q, int i) { return (q * 30 + i) % 200 == 199 ? miss(0.01f) : match(); };
    auto dev = [](int, int i) { return i % 3 == 2 ? miss(kInf, 0.0f) : match(); };
    const std::vector<difr::ConfigTokens> configs = {
        config_of("reference", true, 400, exact), config_of("threads", true, 400, exact),
        config_of("flips", true, 400, flips), config_of("dev", false, 400, dev)};
    const difr::PassResult pass = difr::detect_analyze_pass(configs, difr::DetectOptions{});
    ASSERT_EQ(pass.configs.size(), 4u);
    EXPECT_EQ(pass.prompts, 400);
    EXPECT_EQ(pass.configs[1].duplicate_of, "reference");  // identical tokens: one honest configuration
    EXPECT_EQ(pass.configs[2].duplicate_of, "");
    // Fold 0 calibrates on the even prompts of reference and flips: 2 x 200 x 30 tokens.
    EXPECT_EQ(pass.folds[0].table.honest_tokens, 12000);
    EXPECT_EQ(pass.folds[0].honest_train_buckets[0], 12000);
    EXPECT_EQ(pass.folds[0].honest_train_buckets[6], 12);  // 6000 / 1000 per honest configuration
    const difr::ConfigResult &d = pass.configs[3];
    EXPECT_EQ(d.calibrated_tokens_needed, 3);
    EXPECT_EQ(d.logistic_tokens_needed, 3);
    EXPECT_EQ(d.calibrated_point_needed, 3);
    // n = 1: every token of both folds' held-out halves, one in three filtered out.
    EXPECT_EQ(d.calibrated[0].rate.m, 12000);
    EXPECT_EQ(d.calibrated[0].rate.k, 4000);
    EXPECT_DOUBLE_EQ(d.logistic[0].tpr.value, 1.0 / 3);  // at n = 1 a matching dev token ties honest ones
    // n = 3: all 4000 held-out buckets flagged; the exact lower bound is 0.025^(1/4000).
    EXPECT_EQ(d.calibrated[1].rate.k, 4000);
    EXPECT_NEAR(d.calibrated[1].rate.exact.lo, std::pow(0.025, 1.0 / 4000), 1e-9);
    EXPECT_EQ(d.calibrated[1].rate.bootstrap.lo, 1.0);
    EXPECT_DOUBLE_EQ(d.calibrated[1].auc, 1.0);
    EXPECT_DOUBLE_EQ(d.exact_match_rate, 2.0 / 3);
    EXPECT_DOUBLE_EQ(d.mean_capped_margin, 0.5 / 3);
    EXPECT_EQ(d.sequences, 400);
    // The honest pool at n = 3 (reference and flips; threads is not counted twice): 8000 held-out buckets, a
    // single flip is let through, none flagged: the upper bound is 1 - 0.025^(1/8000).
    EXPECT_EQ(pass.honest_fpr[1].m, 8000);
    EXPECT_EQ(pass.honest_fpr[1].k, 0);
    EXPECT_NEAR(pass.honest_fpr[1].exact.hi, 1 - std::pow(0.025, 1.0 / 8000), 1e-9);
    // n = 1: of the 60 flips, 20 lie in even prompts and 40 in odd ones. Fold 1 trains on the odd prompts,
    // where flips run at (40 + 1/2) / 6002 = 0.67% > alpha / 2, so its i.i.d. model quantile lets a single
    // flip pass; fold 0 trains on the even ones (0.34%) and flags the 40 flips of its held-out odd prompts.
    EXPECT_EQ(pass.honest_fpr[0].k, 40);
    EXPECT_LE(pass.honest_fpr[0].hi(), 0.01);
    // The dev stream's LLR climbs by llr3 + 2 llr0 every 3 tokens: always "deviation", never a miss.
    EXPECT_GT(d.sprt.decisions, 100);
    EXPECT_EQ(d.sprt.honest_decisions, 0);
    for (int i : {0, 1, 2}) {
        const difr::ConfigResult &h = pass.configs[size_t(i)];
        EXPECT_TRUE(h.accepted) << h.name;
        EXPECT_EQ(h.sprt.deviation_decisions, 0) << h.name;
    }
    // Left out of the calibration, "flips" meets a reference that never flips: every flip is flagged, and at
    // n = 10 its 60 flips fall in 60 of 1200 buckets (5%): an unseen variation of this kind is rejected. The
    // exact reference, judged by a calibration on "flips" alone (threads, identical to it, is left out with
    // it), is accepted.
    EXPECT_TRUE(pass.configs[0].unseen.evaluated);
    EXPECT_TRUE(pass.configs[0].unseen.accepted);
    EXPECT_EQ(pass.configs[0].unseen.max_fpr, 0.0);
    EXPECT_TRUE(pass.configs[1].unseen.accepted);
    EXPECT_TRUE(pass.configs[2].unseen.evaluated);
    EXPECT_FALSE(pass.configs[2].unseen.accepted);
    EXPECT_EQ(pass.configs[2].unseen.calibrated[2].rate.k, 60);
    EXPECT_EQ(pass.configs[2].unseen.calibrated[2].rate.m, 1200);
    EXPECT_FALSE(pass.configs[3].unseen.evaluated);
}

// The same deviation on only 6 prompts: every bucket is still flagged, but 60 buckets at n = 3 cannot bound
// the TPR above 0.99 (0.025^(1/60) = 0.940), nor at any larger n: not resolvable, though the point estimate
// says 3.
TEST(Pass, FewBucketsAreNotResolvable) {
    auto exact = [](int, int) { return match(); };
    auto dev = [](int, int i) { return i % 3 == 2 ? miss(kInf, 0.0f) : match(); };
    const std::vector<difr::ConfigTokens> configs = {config_of("reference", true, 400, exact),
                                                     config_of("dev", false, 6, dev)};
    const difr::PassResult pass = difr::detect_analyze_pass(configs, difr::DetectOptions{});
    const difr::ConfigResult &d = pass.configs[1];
    EXPECT_EQ(d.calibrated[1].rate.m, 60);
    EXPECT_EQ(d.calibrated[1].rate.k, 60);
    EXPECT_NEAR(d.calibrated[1].rate.exact.lo, std::pow(0.025, 1.0 / 60), 1e-9);
    EXPECT_EQ(d.calibrated_tokens_needed, 0);
    EXPECT_EQ(d.calibrated_point_needed, 3);
    EXPECT_EQ(d.logistic_tokens_needed, 0);
}

TEST(Pass, NeedsHonestTraining) {
    const std::vector<difr::ConfigTokens> configs = {{"dev", false, {{match()}, {match()}}}};
    EXPECT_THROW(difr::detect_analyze_pass(configs, difr::DetectOptions{}), std::invalid_argument);
    // An honest configuration with a single sequence leaves fold 1 without training tokens.
    const std::vector<difr::ConfigTokens> one = {{"ref", true, {std::vector<TokenObs>(50, match())}}};
    EXPECT_THROW(difr::detect_analyze_pass(one, difr::DetectOptions{}), std::invalid_argument);
}

}  // namespace
