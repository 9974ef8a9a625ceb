// The sequential probability ratio test over a stream of per-token log-likelihood ratios
// (docs/statistics.md). Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <span>

namespace difr {

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

}  // namespace difr
