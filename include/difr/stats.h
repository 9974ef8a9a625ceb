// Classifier statistics for the detection lab (design.md section 6): ROC, AUC, TPR at a fixed FPR, thresholds
// calibrated on negatives, a binomial tail, and logistic regression. Pure functions, no I/O.
//
// Convention throughout: a higher score means "more likely a deviation" (the positive class), and a score s
// is flagged at threshold t when s > t. docs/statistics.md gives the formulas.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace difr {

struct RocPoint {
    double threshold;  // flag when score > threshold
    double fpr;        // #{neg > threshold} / #neg
    double tpr;        // #{pos > threshold} / #pos
};

// The ROC curve's vertices: the threshold starts at the largest score (nothing flagged, (0, 0)) and steps
// down through every distinct score; the last point is at -inf ((1, 1)). Tied scores move FPR and TPR
// together, so ties give diagonal segments. Throws std::invalid_argument if either side is empty or a score
// is NaN.
std::vector<RocPoint> roc_curve(std::span<const double> neg, std::span<const double> pos);

// Mann-Whitney AUC: P(pos > neg) + 1/2 P(pos == neg) over all pairs; equals the area under roc_curve.
double roc_auc(std::span<const double> neg, std::span<const double> pos);

// The ROC vertex with the highest TPR among those with FPR <= alpha (no interpolation between vertices; on a
// TPR tie the larger threshold). Evaluated on the same data that sets the threshold, as DiFR reports it.
RocPoint roc_tpr_at_fpr(std::span<const double> neg, std::span<const double> pos, double alpha);

// The smallest threshold t, among the scores of `neg` (and +inf, never reached when neg is non-empty), such
// that at most floor(alpha * |neg|) of them exceed t: the empirical (1 - alpha) quantile with ties kept on
// the accepting side. With fewer than 1/alpha negatives that is max(neg). Throws if neg is empty.
double threshold_calibrate(std::span<const double> neg, double alpha);

// The smallest threshold t, among the scores of `neg` and +inf, such that at most max_flags of them exceed t
// (ties kept on the accepting side); max_flags < 0 is taken as 0. Throws if neg is empty.
double threshold_for_flags(std::span<const double> neg, int64_t max_flags);

// Fraction of scores > t (0 for an empty span).
double rate_above(std::span<const double> scores, double t);

// P(X >= k) for X ~ Binomial(m, p), summed in log space (exact for the m of a lab: up to ~10^6).
double binomial_sf(int64_t k, int64_t m, double p);

// ---- confidence intervals ---------------------------------------------------------------------------------
struct Interval {
    double lo = 0.0, hi = 1.0;
};

// The regularised incomplete beta function I_x(a, b) (a, b > 0, x in [0, 1]), by its continued fraction.
double beta_inc(double a, double b, double x);

// The exact (Clopper-Pearson) two-sided interval for a rate of k in m at `level` (0.95: 2.5% each side):
// lo solves P(X >= k | p) = (1 - level) / 2 (0 when k = 0), hi solves P(X <= k | p) = (1 - level) / 2 (1 when
// k = m). m = 0 gives [0, 1]. Throws std::invalid_argument for k outside [0, m].
Interval clopper_pearson(int64_t k, int64_t m, double level = 0.95);

// The most flags out of m for which the Clopper-Pearson upper bound stays <= alpha; -1 when even 0 flags
// cannot certify alpha (m too small: m < log((1 - level) / 2) / log(1 - alpha), 368 for 1% at 95%).
int64_t clopper_pearson_max_flags(int64_t m, double alpha, double level = 0.95);

// A percentile bootstrap over clusters (prompts): the resampling units are whole clusters, so correlated
// observations of one cluster (buckets of one answer) move together. The replicates are drawn once, from a
// fixed seed, and shared by every rate computed with them, so rates that share clusters are resampled
// jointly.
class ClusterBootstrap {
public:
    ClusterBootstrap(int32_t n_clusters, int32_t replicates = 1000, uint64_t seed = 20261201);
    int32_t clusters() const { return n_clusters_; }
    // k[c] of m[c] observations in cluster c flagged (both of size clusters()); the percentile interval of
    // sum_c w_bc k_c / sum_c w_bc m_c over the replicates b (replicates with no observation are skipped).
    Interval rate(std::span<const int64_t> k, std::span<const int64_t> m, double level = 0.95) const;

private:
    int32_t n_clusters_;
    std::vector<int32_t> weights_;  // replicates x clusters: how often each cluster was drawn
};

// Feature standardisation fitted on training rows (row-major, d features per row): z = (x - mean) / scale,
// scale = population standard deviation (as scikit-learn's StandardScaler), 1 where it is 0.
struct Standardizer {
    std::vector<double> mean, scale;
    std::vector<double> apply(std::span<const double> rows) const;
};
Standardizer standardizer_fit(std::span<const double> rows, size_t d);

// Binary logistic regression, fitted by Newton's method (IRLS) on
//   sum_i logloss(y_i, b + w.x_i) + ||w||^2 / (2 C)      (intercept b not penalised),
// which is scikit-learn's LogisticRegression(C=C) objective; the ridge term keeps w finite on separable data.
struct LogisticModel {
    double intercept = 0.0;
    std::vector<double> weights;
    int iterations = 0;
    double decision(std::span<const double> row) const;  // b + w.x, the score ROC is computed on
};
// rows: row-major, d features each; labels 0 or 1. Throws std::invalid_argument on bad shapes or labels.
LogisticModel logistic_fit(std::span<const double> rows, size_t d, std::span<const int> labels,
                           double C = 1.0);

}  // namespace difr
