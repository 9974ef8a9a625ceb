// Detection statistics of the lab (design.md section 6): given the per-token metrics of honest runs and of
// deviations, how many tokens does it take to tell them apart? Two methods, side by side:
//   - DiFR's (the paper's): bucket means of capped margin, prob and exact_match, logistic regression, ROC.
//   - difr's: a per-token log-likelihood ratio against honest behaviour, its bucket mean thresholded at a
//   level
//     calibrated on honest data only, and a sequential probability ratio test (SPRT) over the token stream.
// Pure functions, no I/O. docs/statistics.md has the formulas and the reasons for each choice.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "difr/stats.h"

namespace difr {

// What the detectors read from one verified token (tokens.jsonl).
struct TokenObs {
    bool exact_match = false;
    float prob = 0.0f;
    float margin = 0.0f;  // +inf when the claimed token was filtered out
};

constexpr std::array<int, 7> kBucketSizes = {1, 3, 10, 30, 100, 300, 1000};
constexpr double kMarginCap = 0.5;  // DiFR caps the margin (and counts +inf) at 0.5

// min(margin, kMarginCap), +inf counted as kMarginCap: the Token-DiFR score DiFR averages and plots.
double margin_capped(float margin);

// Consecutive tokens in groups of n; the last partial group (fewer than n tokens) is dropped, so every bucket
// has exactly n tokens. Features per bucket, row-major: mean capped margin, mean prob, mean exact_match.
constexpr size_t kBucketFeatures = 3;
std::vector<double> bucket_features(std::span<const TokenObs> tokens, size_t n);

// ---- difr's per-token likelihood ratio ----------------------------------------------------------------
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

// ---- SPRT ---------------------------------------------------------------------------------------------
struct SprtBounds {
    double upper;  // log((1 - beta) / alpha): decide "deviation" at or above
    double lower;  // log(beta / (1 - alpha)): decide "honest" at or below
};
SprtBounds sprt_bounds(double alpha, double beta);

// Runs the SPRT over a stream of per-token log-likelihood ratios, restarting after each decision, so one long
// stream yields many independent-looking decisions. Tokens after the last decision are left undecided.
struct SprtRun {
    int64_t decisions = 0, deviation_decisions = 0, honest_decisions = 0;
    int64_t decided_tokens = 0;    // tokens consumed by the decisions
    int64_t undecided_tokens = 0;  // the tail without a decision
    int64_t p99_tokens = 0;        // 99th percentile (nearest rank) of the tokens each decision took
    double mean_tokens() const { return decisions ? double(decided_tokens) / double(decisions) : 0.0; }
};
SprtRun sprt_run(std::span<const double> llrs, const SprtBounds &bounds);

// ---- the lab's analysis of one pass (one sampling setting) ---------------------------------------------
struct DetectOptions {
    double alpha = 0.01;       // target false-positive rate
    double target_tpr = 0.99;  // "detected" at a bucket size n when TPR >= this at FPR <= alpha
    double rho = 0.05;         // contamination rate of the LLR alternative
    double sprt_alpha = 0.01, sprt_beta = 0.01;
    double logistic_C = 1.0;  // inverse ridge strength (scikit-learn's C)
};

// One configuration's tokens in a pass, already split: even sequences train, odd sequences test.
struct ConfigTokens {
    std::string name;
    bool honest = false;
    std::vector<TokenObs> train, test;
};

struct LogisticAtN {
    int n = 0;
    int64_t train_neg = 0, train_pos = 0, test_neg = 0, test_pos = 0;
    bool evaluated = false;  // false when a class has no bucket on either side
    double auc = 0.0, tpr = 0.0, fpr = 0.0;
    std::vector<double> weights;  // on standardised features; intercept first
};

struct CalibratedAtN {
    int n = 0;
    int64_t test_buckets = 0, flagged = 0;
    bool evaluated = false;
    double rate = 0.0;     // flagged / test_buckets: TPR for a deviation, FPR for an honest config
    double auc = 0.0;      // deviation only: held-out honest vs this config's held-out buckets
    bool accepted = true;  // honest only: rate not significantly above alpha (binomial tail >= 0.01)
};

// An honest configuration judged by a calibration that has never seen it (leave one configuration out): would
// a new, unseen honest variation of this kind be accepted?
struct UnseenCheck {
    bool evaluated = false;  // false when no other honest configuration has training tokens
    bool accepted = true;
    double max_fpr = 0.0;  // over bucket sizes
    SprtRun sprt;
};

struct ConfigResult {
    std::string name;
    bool honest = false;
    int64_t tokens = 0;
    double mean_capped_margin = 0.0, exact_match_rate = 0.0, mean_prob = 0.0;
    std::vector<LogisticAtN> logistic;      // deviations only, one per bucket size
    std::vector<CalibratedAtN> calibrated;  // one per bucket size
    SprtRun sprt;                           // on the held-out tokens
    int logistic_tokens_needed = 0;         // smallest n detected; 0: not detected within 1000
    int calibrated_tokens_needed = 0;
    bool accepted = true;  // honest only: accepted at every bucket size it has held-out buckets for
    UnseenCheck unseen;    // honest only
};

struct PassResult {
    LlrTable table;
    std::vector<double> thresholds;  // calibrated per bucket size (NaN where honest training has no bucket)
    std::vector<int64_t> honest_train_buckets;
    std::vector<ConfigResult> configs;
};

// Throws std::invalid_argument when no honest configuration has training tokens.
PassResult detect_analyze_pass(std::span<const ConfigTokens> configs, const DetectOptions &opts);

}  // namespace difr
