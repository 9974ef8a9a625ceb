// ROC, AUC, TPR at fixed FPR, threshold calibration, binomial tail and logistic regression: hand-computed
// cases and scikit-learn goldens (tools/stats/logistic_golden.py, scikit-learn 1.9.1).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "difr/stats.h"

namespace {

using difr::RocPoint;

// neg {0.1, 0.4, 0.4}, pos {0.4, 0.8, 0.1, 0.9}. Pairs won by pos: 0.4 beats 0.1 and ties both 0.4s (2),
// 0.8 and 0.9 beat all (3 + 3), 0.1 ties 0.1 (0.5): 8.5 of 12. scikit-learn's roc_auc_score: 0.708333...
const std::vector<double> kNeg = {0.1, 0.4, 0.4};
const std::vector<double> kPos = {0.4, 0.8, 0.1, 0.9};

TEST(Roc, AucCountsTiesHalf) {
    EXPECT_DOUBLE_EQ(difr::roc_auc(kNeg, kPos), 8.5 / 12.0);
    EXPECT_NEAR(difr::roc_auc(kNeg, kPos), 0.7083333333333333, 1e-15);  // scikit-learn
}

TEST(Roc, AucExtremes) {
    EXPECT_DOUBLE_EQ(difr::roc_auc(std::vector<double>{0, 1}, std::vector<double>{2, 3}), 1.0);
    EXPECT_DOUBLE_EQ(difr::roc_auc(std::vector<double>{2, 3}, std::vector<double>{0, 1}), 0.0);
    EXPECT_DOUBLE_EQ(difr::roc_auc(std::vector<double>{5, 5, 5}, std::vector<double>{5, 5}), 0.5);
}

TEST(Roc, CurveVerticesWithTies) {
    const std::vector<RocPoint> roc = difr::roc_curve(kNeg, kPos);
    ASSERT_EQ(roc.size(), 5u);  // 4 distinct scores + the final -inf
    const double expect[5][3] = {{0.9, 0, 0}, {0.8, 0, 0.25}, {0.4, 0, 0.5}, {0.1, 2.0 / 3, 0.75}, {0, 1, 1}};
    for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(roc[i].threshold, expect[i][0]) << i;
    EXPECT_EQ(roc[4].threshold, -std::numeric_limits<double>::infinity());
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_DOUBLE_EQ(roc[i].fpr, expect[i][1]) << i;
        EXPECT_DOUBLE_EQ(roc[i].tpr, expect[i][2]) << i;
    }
    // Trapezoids under the vertices give the Mann-Whitney value: ties are the diagonal segment.
    double area = 0;
    for (size_t i = 1; i < roc.size(); ++i)
        area += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
    EXPECT_NEAR(area, 8.5 / 12.0, 1e-15);
}

TEST(Roc, TprAtFprTakesBestAdmissibleVertex) {
    RocPoint p = difr::roc_tpr_at_fpr(kNeg, kPos, 0.01);
    EXPECT_DOUBLE_EQ(p.threshold, 0.4);  // flag > 0.4: two positives, no negative
    EXPECT_DOUBLE_EQ(p.tpr, 0.5);
    EXPECT_DOUBLE_EQ(p.fpr, 0.0);
    p = difr::roc_tpr_at_fpr(kNeg, kPos, 2.0 / 3.0);  // exactly 2 of 3 negatives allowed
    EXPECT_DOUBLE_EQ(p.threshold, 0.1);
    EXPECT_DOUBLE_EQ(p.tpr, 0.75);
    // A tie between a positive and the top negative cannot be split: the tied positive is not counted.
    p = difr::roc_tpr_at_fpr(std::vector<double>{0, 0, 1}, std::vector<double>{1, 2}, 0.01);
    EXPECT_DOUBLE_EQ(p.threshold, 1.0);
    EXPECT_DOUBLE_EQ(p.tpr, 0.5);
}

TEST(Roc, RejectsEmptyAndNaN) {
    EXPECT_THROW(difr::roc_auc(std::vector<double>{}, kPos), std::invalid_argument);
    EXPECT_THROW(difr::roc_curve(kNeg, std::vector<double>{std::nan("")}), std::invalid_argument);
}

TEST(Threshold, EmpiricalQuantileKeepsTiesAccepted) {
    const std::vector<double> five = {3, 1, 5, 2, 4};
    EXPECT_EQ(difr::threshold_calibrate(five, 0.01), 5.0);  // fewer than 1/alpha negatives: the maximum
    EXPECT_EQ(difr::threshold_calibrate(five, 0.2), 4.0);   // one of five may exceed
    EXPECT_EQ(difr::threshold_calibrate(five, 0.39), 4.0);
    EXPECT_EQ(difr::threshold_calibrate(five, 0.4), 3.0);
    std::vector<double> v(200, 0.0);
    v[0] = v[1] = 1.0;  // 2 of 200 above 0: allowed at 1%
    EXPECT_EQ(difr::threshold_calibrate(v, 0.01), 0.0);
    EXPECT_DOUBLE_EQ(difr::rate_above(v, 0.0), 0.01);
    v[2] = 1.0;  // 3 of 200: not allowed, and no threshold between 0 and 1 flags fewer
    EXPECT_EQ(difr::threshold_calibrate(v, 0.01), 1.0);
    EXPECT_DOUBLE_EQ(difr::rate_above(v, 1.0), 0.0);
    EXPECT_THROW(difr::threshold_calibrate(std::vector<double>{}, 0.01), std::invalid_argument);
}

TEST(Binomial, UpperTail) {
    EXPECT_NEAR(difr::binomial_sf(1, 10, 0.1), 1 - std::pow(0.9, 10), 1e-13);
    EXPECT_NEAR(difr::binomial_sf(2, 5, 0.5), 26.0 / 32.0, 1e-13);
    EXPECT_EQ(difr::binomial_sf(0, 5, 0.5), 1.0);
    EXPECT_EQ(difr::binomial_sf(6, 5, 0.5), 0.0);
    EXPECT_EQ(difr::binomial_sf(1, 5, 0.0), 0.0);
    // 5 flags in 100 at a 1% rate: 1 - sum_{j<5} C(100,j) .01^j .99^(100-j) = 0.0033839...
    double below = 0;
    for (int j = 0; j < 5; ++j)
        below += std::tgamma(101.0) / (std::tgamma(j + 1.0) * std::tgamma(101.0 - j)) * std::pow(0.01, j) *
                 std::pow(0.99, 100 - j);
    EXPECT_NEAR(difr::binomial_sf(5, 100, 0.01), 1 - below, 1e-12);
}

// tools/stats/logistic_golden.py: the same 12 rows and labels.
const std::vector<double> kX = {0.00, 0.91, 1.00, 0.05, 0.80, 0.90, 0.10, 0.75, 0.80, 0.02, 0.95, 1.00,
                                0.30, 0.60, 0.70, 0.12, 0.70, 0.85, 0.25, 0.50, 0.60, 0.40, 0.45, 0.50,
                                0.08, 0.85, 0.95, 0.35, 0.40, 0.55, 0.20, 0.65, 0.75, 0.45, 0.30, 0.40};
const std::vector<int> kY = {0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1};

TEST(Standardizer, MatchesScikitLearn) {
    const difr::Standardizer s = difr::standardizer_fit(kX, 3);
    const double mean[3] = {0.19333333333333333, 0.655, 0.75};
    const double scale[3] = {0.14794894014114765, 0.20047859403603832, 0.19364916731037085};
    for (int j = 0; j < 3; ++j) {
        EXPECT_NEAR(s.mean[j], mean[j], 1e-15);
        EXPECT_NEAR(s.scale[j], scale[j], 1e-15);
    }
    const difr::Standardizer c = difr::standardizer_fit(std::vector<double>{2, 2, 2}, 1);
    EXPECT_EQ(c.scale[0], 1.0);  // constant feature: centred, not divided by 0
    EXPECT_EQ(c.apply(std::vector<double>{2})[0], 0.0);
}

TEST(Logistic, MatchesScikitLearn) {
    const std::vector<double> z = difr::standardizer_fit(kX, 3).apply(kX);
    // LogisticRegression(C, solver="newton-cholesky", tol=1e-14) on StandardScaler output, printed to 12
    // decimals.
    struct Case {
        double C, b, w[3];
    };
    const Case cases[] = {{1.0, 0.191938603310, {0.960023554726, -0.789207790228, -0.807018067730}},
                          {0.1, 0.013358322668, {0.302813261530, -0.282082751438, -0.284124500134}}};
    for (const Case &c : cases) {
        const difr::LogisticModel m = difr::logistic_fit(z, 3, kY, c.C);
        EXPECT_NEAR(m.intercept, c.b, 1e-11) << "C=" << c.C;
        for (int j = 0; j < 3; ++j) EXPECT_NEAR(m.weights[j], c.w[j], 1e-11) << "C=" << c.C << " j=" << j;
        EXPECT_LT(m.iterations, 20);
    }
}

TEST(Logistic, ClosedFormWhenFeaturesCarryNoInformation) {
    // With a constant (zero) feature the ridge pins w = 0 and the intercept is the log-odds of the labels.
    const std::vector<double> x(4, 0.0);
    const difr::LogisticModel m = difr::logistic_fit(x, 1, std::vector<int>{1, 1, 1, 0});
    EXPECT_NEAR(m.intercept, std::log(3.0), 1e-12);
    EXPECT_NEAR(m.weights[0], 0.0, 1e-12);
}

TEST(Logistic, SeparableDataStaysFinite) {
    const std::vector<double> x = {-2, -1, 1, 2};
    const difr::LogisticModel m = difr::logistic_fit(x, 1, std::vector<int>{0, 0, 1, 1});
    EXPECT_TRUE(std::isfinite(m.weights[0]));
    EXPECT_GT(m.weights[0], 0.0);
    EXPECT_NEAR(m.intercept, 0.0, 1e-12);  // symmetric data
    EXPECT_THROW(difr::logistic_fit(x, 1, std::vector<int>{0, 0, 0, 0}), std::invalid_argument);
    EXPECT_THROW(difr::logistic_fit(x, 1, std::vector<int>{0, 2, 1, 1}), std::invalid_argument);
}

// Regularised incomplete beta: for integers, I_x(a, b) = P(Binomial(a + b - 1, x) >= a).
TEST(Intervals, IncompleteBetaIsABinomialTail) {
    EXPECT_NEAR(difr::beta_inc(2, 3, 0.5), 11.0 / 16, 1e-14);
    EXPECT_NEAR(difr::beta_inc(1, 1, 0.3), 0.3, 1e-14);
    for (double x : {0.001, 0.2, 0.7, 0.99})
        EXPECT_NEAR(difr::beta_inc(7, 40, x), difr::binomial_sf(7, 46, x), 1e-12) << x;
    EXPECT_EQ(difr::beta_inc(3, 4, 0.0), 0.0);
    EXPECT_EQ(difr::beta_inc(3, 4, 1.0), 1.0);
    EXPECT_THROW(difr::beta_inc(0, 1, 0.5), std::invalid_argument);
}

// Clopper-Pearson against closed forms and R's binom.test(5, 10): [0.1870860, 0.8129140].
TEST(Intervals, ClopperPearson) {
    const difr::Interval mid = difr::clopper_pearson(5, 10);
    EXPECT_NEAR(mid.lo, 0.1870860, 1e-7);
    EXPECT_NEAR(mid.hi, 0.8129140, 1e-7);
    const difr::Interval none = difr::clopper_pearson(0, 10);  // hi = 1 - 0.025^(1/10)
    EXPECT_EQ(none.lo, 0.0);
    EXPECT_NEAR(none.hi, 1 - std::pow(0.025, 0.1), 1e-12);
    const difr::Interval all = difr::clopper_pearson(333, 333);  // lo = 0.025^(1/333)
    EXPECT_NEAR(all.lo, std::pow(0.025, 1.0 / 333), 1e-12);
    EXPECT_EQ(all.hi, 1.0);
    const difr::Interval empty = difr::clopper_pearson(0, 0);
    EXPECT_EQ(empty.lo, 0.0);
    EXPECT_EQ(empty.hi, 1.0);
    EXPECT_THROW(difr::clopper_pearson(3, 2), std::invalid_argument);
    // At 95%, 0 flags certify 1% only from 368 buckets on (1 - 0.025^(1/367) = 1.00010%, 0.99738% at 368).
    EXPECT_EQ(difr::clopper_pearson_max_flags(367, 0.01), -1);
    EXPECT_EQ(difr::clopper_pearson_max_flags(368, 0.01), 0);
    const int64_t k = difr::clopper_pearson_max_flags(10000, 0.01);
    EXPECT_LE(difr::clopper_pearson(k, 10000).hi, 0.01);
    EXPECT_GT(difr::clopper_pearson(k + 1, 10000).hi, 0.01);
}

// Clusters that are all-or-nothing (an answer whose every bucket is flagged or none is) make the bootstrap
// interval as wide as for 100 trials, not 1000: 0.3 +- 1.96 sqrt(0.21 / 100) = +- 0.090, where
// Clopper-Pearson on 1000 buckets gives +- 0.029.
TEST(Intervals, ClusterBootstrapResamplesWholeClusters) {
    std::vector<int64_t> k(100, 0), m(100, 10);
    for (size_t c = 0; c < 30; ++c) k[c] = 10;
    const difr::ClusterBootstrap boot(100, 2000);
    const difr::Interval b = boot.rate(k, m);
    EXPECT_LT(b.lo, 0.3);
    EXPECT_GT(b.hi, 0.3);
    EXPECT_NEAR(b.hi - b.lo, 2 * 0.0898, 0.03);
    const difr::Interval cp = difr::clopper_pearson(300, 1000);
    EXPECT_LT(cp.hi - cp.lo, 0.07);
    // Every observation flagged: [1, 1]; the same replicates serve every rate (a fixed seed).
    const std::vector<int64_t> ones(100, 10);
    EXPECT_EQ(boot.rate(ones, m).lo, 1.0);
    const difr::Interval again = difr::ClusterBootstrap(100, 2000).rate(k, m);
    EXPECT_EQ(again.lo, b.lo);
    EXPECT_EQ(again.hi, b.hi);
    EXPECT_THROW(boot.rate(std::vector<int64_t>(3, 0), m), std::invalid_argument);
}

TEST(Threshold, ForFlagsKeepsTiesAccepted) {
    const std::vector<double> s = {5, 5, 5, 1, 0};
    EXPECT_EQ(difr::threshold_for_flags(s, 0), 5.0);
    EXPECT_EQ(difr::threshold_for_flags(s, 2), 5.0);  // flagging one 5 would flag all three
    EXPECT_EQ(difr::threshold_for_flags(s, 3), 1.0);
    EXPECT_EQ(difr::threshold_for_flags(s, -1), 5.0);
    EXPECT_EQ(difr::threshold_for_flags(s, 10), 0.0);
}

}  // namespace
