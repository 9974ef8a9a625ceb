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

// Fraction of scores > t (0 for an empty span).
double rate_above(std::span<const double> scores, double t);

// P(X >= k) for X ~ Binomial(m, p), summed in log space (exact for the m of a lab: up to ~10^6).
double binomial_sf(int64_t k, int64_t m, double p);

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
