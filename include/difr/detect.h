// Detection statistics of the lab (design.md section 6): given the per-token metrics of honest runs and of
// deviations, how many tokens does it take to tell them apart? Two methods, side by side:
//   - DiFR's (the paper's): bucket means of capped margin, prob and exact_match, logistic regression, ROC.
//   - difr's: a per-token log-likelihood ratio against honest behaviour (difr/llr.h), its bucket mean
//     thresholded at a level calibrated on honest data only, and a sequential probability ratio test
//     (difr/sprt.h) over the token stream.
// This header is the analysis of one pass of the lab. Pure functions, no I/O. docs/statistics.md has the
// formulas and the reasons for each choice.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "difr/buckets.h"
#include "difr/llr.h"
#include "difr/sprt.h"
#include "difr/stats.h"

namespace difr {

// ---- the lab's analysis of one pass (one sampling setting) ---------------------------------------------
struct DetectOptions {
    double alpha = 0.01;  // target false-positive rate
    double target_tpr =
        0.99;             // detected at n when the TPR's lower bound >= this and the FPR's upper <= alpha
    double level = 0.95;  // confidence level of every interval (two-sided)
    int32_t bootstrap_replicates = 1000;
    double rho = 0.05;  // contamination rate of the LLR alternative
    double sprt_alpha = 0.01, sprt_beta = 0.01;
    double logistic_C = 1.0;  // inverse ridge strength (scikit-learn's C)
};

// One configuration's tokens in a pass, per sequence: sequences[i] holds the tokens of prompt i. The lab
// gives every configuration the same prompts in the same order, so an index is one prompt across
// configurations (the unit the bootstrap resamples). Two folds: fold 0 trains on even sequences and tests on
// odd ones, fold 1 the other way round; every held-out figure pools both folds' test buckets.
struct ConfigTokens {
    std::string name;
    bool honest = false;
    std::vector<std::vector<TokenObs>> sequences;
};

// A rate on held-out buckets, with two 95% intervals: Clopper-Pearson, which treats buckets as independent
// trials, and a percentile bootstrap over prompts, which lets the buckets of one answer move together. The
// decisions use the wider envelope of the two.
struct Rate {
    int64_t k = 0, m = 0;  // flagged buckets, buckets
    double value = 0.0;    // k / m
    Interval exact, bootstrap;
    double lo() const { return std::min(exact.lo, bootstrap.lo); }
    double hi() const { return std::max(exact.hi, bootstrap.hi); }
};

struct LogisticAtN {
    int n = 0;
    int64_t train_neg = 0, train_pos = 0;  // training buckets, both folds
    bool evaluated = false;                // false when a class has no bucket in a fold
    double auc = 0.0;                      // mean of the two folds' held-out AUCs
    // At each fold's operating point: the highest held-out TPR whose FPR's Clopper-Pearson upper bound is
    // <= alpha (chosen on the held-out buckets, as DiFR does: an optimistic figure). Pooled over the folds.
    Rate tpr, fpr;
    std::vector<double> weights;  // fold 0's model on standardised features; intercept first
};

struct CalibratedAtN {
    int n = 0;
    bool evaluated = false;
    Rate rate;             // flagged held-out buckets: TPR for a deviation, FPR for an honest configuration
    double auc = 0.0;      // deviation: against the pooled honest held-out buckets (mean over folds)
    bool accepted = true;  // honest only: not significantly above alpha (rate.lo() <= alpha)
};

// An honest configuration judged by a calibration that has never seen it (leave out its group: itself and
// any configuration with identical tokens): would a new, unseen honest variation of this kind be accepted?
struct UnseenCheck {
    bool evaluated = false;  // false when no other honest configuration remains
    bool accepted = true;
    double max_fpr = 0.0;                   // over bucket sizes
    std::vector<CalibratedAtN> calibrated;  // per bucket size; auc: against the remaining honest buckets
    SprtRun sprt;
};

struct ConfigResult {
    std::string name;
    bool honest = false;
    std::string duplicate_of;  // an earlier configuration whose tokens are metric for metric the same
    int64_t tokens = 0;
    int32_t sequences = 0;
    double mean_capped_margin = 0.0, exact_match_rate = 0.0, mean_prob = 0.0;
    std::vector<LogisticAtN> logistic;      // deviations only, one per bucket size
    std::vector<CalibratedAtN> calibrated;  // one per bucket size
    SprtRun sprt;                           // on the held-out tokens of both folds
    // Smallest bucket size whose TPR lower bound >= target_tpr at an FPR whose upper bound <= alpha; 0: not
    // resolvable at this size. *_point: the same on the point estimates alone.
    int logistic_tokens_needed = 0, calibrated_tokens_needed = 0;
    int logistic_point_needed = 0, calibrated_point_needed = 0;
    bool accepted = true;  // honest only: accepted at every bucket size it has held-out buckets for
    UnseenCheck unseen;    // honest only
};

struct FoldCalibration {
    LlrTable table;                  // fitted on the fold's honest training tokens
    std::vector<double> thresholds;  // per bucket size (NaN where honest training has no bucket)
    std::vector<int64_t> honest_train_buckets;
};

struct PassResult {
    std::array<FoldCalibration, 2> folds;
    std::vector<Rate> honest_fpr;  // calibrated method, per bucket size: the pooled honest held-out buckets
    int32_t prompts = 0;           // sequences per configuration, the bootstrap's clusters
    std::vector<ConfigResult> configs;
};

// Throws std::invalid_argument when a fold has no honest training token.
PassResult detect_analyze_pass(std::span<const ConfigTokens> configs, const DetectOptions &opts);

}  // namespace difr
