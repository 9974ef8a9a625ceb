// Detection statistics of the lab (design.md section 6): given the per-token metrics of honest runs and of
// deviations, how many tokens does it take to tell them apart? Two methods, side by side:
//   - DiFR's (the paper's): bucket means of capped margin, prob and exact_match, logistic regression, ROC.
//   - difr's: a per-token log-likelihood ratio against honest behaviour (difr/llr.h), its bucket mean
//     thresholded at a level calibrated on honest data only, and a sequential probability ratio test
//     (difr/sprt.h) over the token stream.
// This header is the analysis of one pass of the lab. Pure functions, no I/O. docs/statistics.md has the
// formulas and the reasons for each choice.
#pragma once

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
