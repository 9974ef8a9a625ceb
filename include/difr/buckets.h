// Token buckets (design.md section 6): what the detectors read from one verified token, and the bucket means
// of DiFR's features over groups of n consecutive tokens. Pure functions, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

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

}  // namespace difr
