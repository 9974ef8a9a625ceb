// Which engine sampled these tokens? `--noise auto` scores the same claimed tokens under every noise profile
// and weighs the evidence for each (docs/semantics.md, "Which engine is this provider running?").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "difr/metrics.h"
#include "difr/noise.h"

namespace difr {

// The per-token model. If profile A is the engine's, the reference reproduces the claimed token except when
// its own logits differ from the provider's (odds kIdentifyMismatch), and then it is as good as an
// independent draw; if A is not the engine's, A's prediction is an independent draw from the same
// distribution, which hits the claimed token with probability p (TokenMetrics::prob under A's filter):
//   P(match | A) = 1 - e + e p        P(match | not A) = p
//   P(miss  | A) = e (1 - p)          P(miss  | not A) = 1 - p
// so a match adds log((1 - e + e p) / p) >= 0 to A's log-likelihood ratio and a miss adds log e < 0. Summing
// over tokens (treated as independent) gives log LR(A is the engine vs it is not); since every hypothesis
// "A is the engine" shares the factors of the other profiles, LR(A vs B) = LR_A / LR_B.
constexpr double kIdentifyMismatch = 0.05;
// Evidence thresholds, in log10 units: 100 to 1.
constexpr double kIdentifyDecisive = 2.0;

struct ProfileEvidence {
    NoiseProfile profile = NoiseProfile::vllm;
    int64_t tokens = 0;
    int64_t matches = 0;
    double expected_by_chance = 0.0;  // sum of p: the matches a wrong profile would get on average
    double log10_lr = 0.0;            // log10 LR(this profile is the engine's vs it is not)
    double rate() const { return tokens ? double(matches) / double(tokens) : 0.0; }
};

enum class IdentifyVerdict {
    identified,    // the best profile beats every other and "no profile" by kIdentifyDecisive or more
    inconclusive,  // too little evidence either way (short or near-deterministic outputs)
    none,          // no profile explains these tokens: even the best is kIdentifyDecisive below "none"
    greedy,        // T = 0: no noise, every profile predicts the same tokens
};
std::string_view identify_verdict_name(IdentifyVerdict v);  // "identified", ...

struct ProfileIdentification {
    std::vector<ProfileEvidence> profiles;  // best first
    IdentifyVerdict verdict = IdentifyVerdict::inconclusive;
    double log10_lr_vs_next = 0.0;  // best vs runner-up
    NoiseProfile best() const { return profiles.front().profile; }
};

// Accumulates evidence token by token, one slot per profile.
class ProfileIdentifier {
public:
    explicit ProfileIdentifier(std::vector<NoiseProfile> profiles, bool greedy = false);
    void add(size_t profile_index, const TokenMetrics &m);
    ProfileIdentification finish() const;

private:
    std::vector<ProfileEvidence> evidence_;
    bool greedy_;
};

// One line for the terminal: "noise: vllm (identified, LR 10^41 over sglang); vllm 99.3%, ..."
std::string identification_line(const ProfileIdentification &id);
// The summary.json / audit result object: verdict, best, log10 LR, and each profile's figures.
std::string identification_to_json(const ProfileIdentification &id);

}  // namespace difr
