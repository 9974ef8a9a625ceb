// Gonka's top-k logprob comparisons (docs/artifacts.md): the production validator's similarity, as its Go
// code computes it, and the seed document's distance2. Pure functions over tokens spelled as strings (text or
// token-id strings, compared exactly as the artifacts spell them) and float64 logprobs.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace difr {

struct GonkaTop {
    std::string token;
    double logprob = 0.0;
};

// One position of an artifact: the chosen token and the top-k list the prover (or validator) reported.
struct GonkaPosition {
    std::string token;
    double logprob = 0.0;
    std::vector<GonkaTop> top;
};

// positionDistance of decentralized-api/internal/validation/inference_validation.go: for each of the
// validator's top entries v, o = the prover's logprob for v's token (later duplicates of a token win, as a Go
// map keeps the last) or, when absent, m1 - (m2 - m1) with m1 <= m2 the prover's two smallest logprobs
// (m2 = m1 - 100 when the prover listed one distinct token); d += |v - o| / (1e-6 + |v| + |o|) / 2.
// Returns false (Go's "empty logprobs provided" error) when either list is empty.
bool gonka_position_distance(std::span<const GonkaTop> original, std::span<const GonkaTop> validation,
                             double &distance);

// customSimilarity: 1 - (sum over positions of the position distance) / (max(100, N) * k), k the length of
// the prover's first top list; negative results become 0, an empty list anywhere gives 0; NaN passes through
// as in Go (and fails every threshold). Needs validation.size() >= original.size() (only the first N of the
// validation are read) and original non-empty.
double gonka_custom_similarity(std::span<const GonkaPosition> original,
                               std::span<const GonkaPosition> validation);

enum class GonkaOutcome { similarity, different_length, different_tokens };

struct GonkaComparison {
    GonkaOutcome outcome = GonkaOutcome::similarity;
    double value = 0.0;     // the value the validator sends: the similarity, or 0 for a mismatch
    size_t first_diff = 0;  // different_tokens: the first position whose tokens differ
};

// compareLogits + ToMsgValidation of the current code (2026; the launch code of Aug 2025 scored a mismatch
// 1, "hack till we guarantee same tokenization"): a validation shorter than the original, or any differing
// token among the first N, is scored 0; a longer validation is compared on its first N positions.
GonkaComparison gonka_compare(std::span<const GonkaPosition> original,
                              std::span<const GonkaPosition> validation);

// The chain's pass rule: value > threshold (strict).
inline bool gonka_passes(double value, double threshold) {
    return value > threshold;
}

struct GonkaPreset {
    const char *name;
    double threshold;
    const char *source;
};
// The production thresholds (docs/artifacts.md): mainnet 0.98, 0.95 (PR #132), testnet 0.85.
std::span<const GonkaPreset> gonka_presets();

// The seed document's distance2 (mlnode calibration code, Python): iterates the prover's ("inference")
// tokens, takes the fallback from the validator's minimums (m2 = m1 - 1 when the validator listed one
// token), 1e-10 in the denominator; total = (sum + 1) / (max(100, N) * k + 1) with k the prover's first list
// length; matches_ratio = matched prover tokens / (N * k). A position whose validator list is empty adds
// len(prover list) and no match. Both -1 when the token sequences differ (length or any token).
struct Distance2 {
    double distance = -1.0;
    double matches_ratio = -1.0;
};
Distance2 gonka_distance2(std::span<const GonkaPosition> inference,
                          std::span<const GonkaPosition> validation);

}  // namespace difr
