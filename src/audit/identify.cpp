#include "difr/identify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace difr {

std::string_view identify_verdict_name(IdentifyVerdict v) {
    switch (v) {
        case IdentifyVerdict::identified:
            return "identified";
        case IdentifyVerdict::inconclusive:
            return "inconclusive";
        case IdentifyVerdict::none:
            return "no profile explains these tokens";
        case IdentifyVerdict::greedy:
            return "not applicable at T = 0";
    }
    return "?";
}

ProfileIdentifier::ProfileIdentifier(std::vector<NoiseProfile> profiles, bool greedy) : greedy_(greedy) {
    for (NoiseProfile p : profiles) evidence_.push_back(ProfileEvidence{p});
}

void ProfileIdentifier::add(size_t profile_index, const TokenMetrics &m) {
    ProfileEvidence &e = evidence_.at(profile_index);
    // p = 0 (the claimed token was filtered out) can only be a miss; p = 1 carries no evidence either way.
    const double p = std::clamp(double(m.prob), 1e-12, 1.0);
    const double eps = kIdentifyMismatch;
    ++e.tokens;
    e.expected_by_chance += double(m.prob);
    if (m.exact_match) {
        ++e.matches;
        e.log10_lr += std::log10((1.0 - eps + eps * p) / p);
    } else {
        e.log10_lr += std::log10(eps);
    }
}

ProfileIdentification ProfileIdentifier::finish() const {
    ProfileIdentification id;
    id.profiles = evidence_;
    std::stable_sort(
        id.profiles.begin(), id.profiles.end(),
        [](const ProfileEvidence &a, const ProfileEvidence &b) { return a.log10_lr > b.log10_lr; });
    if (greedy_) {
        id.verdict = IdentifyVerdict::greedy;
        return id;
    }
    const double best = id.profiles.empty() ? 0.0 : id.profiles[0].log10_lr;
    id.log10_lr_vs_next = id.profiles.size() > 1 ? best - id.profiles[1].log10_lr : INFINITY;
    if (best <= -kIdentifyDecisive)
        id.verdict = IdentifyVerdict::none;
    else if (best >= kIdentifyDecisive && id.log10_lr_vs_next >= kIdentifyDecisive)
        id.verdict = IdentifyVerdict::identified;
    else
        id.verdict = IdentifyVerdict::inconclusive;
    return id;
}

std::string identification_line(const ProfileIdentification &id) {
    std::string out = "noise: ";
    char buf[256];
    if (id.verdict == IdentifyVerdict::identified) {
        std::snprintf(buf, sizeof buf, "%s (identified: 10^%.1f times likelier than %s)",
                      std::string(noise_profile_name(id.best())).c_str(), id.log10_lr_vs_next,
                      std::string(noise_profile_name(id.profiles[1].profile)).c_str());
        out += buf;
    } else {
        out += std::string(identify_verdict_name(id.verdict));
        if (id.verdict != IdentifyVerdict::greedy) {
            std::snprintf(buf, sizeof buf, " (closest: %s, log10 LR %.1f)",
                          std::string(noise_profile_name(id.best())).c_str(), id.profiles[0].log10_lr);
            out += buf;
        }
    }
    out += ";";
    for (const ProfileEvidence &e : id.profiles) {
        std::snprintf(buf, sizeof buf, " %s %.1f%%", std::string(noise_profile_name(e.profile)).c_str(),
                      100.0 * e.rate());
        out += buf;
    }
    return out;
}

std::string identification_to_json(const ProfileIdentification &id) {
    using json = nlohmann::ordered_json;
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    json profiles = json::array();
    for (const ProfileEvidence &e : id.profiles)
        profiles.push_back({{"profile", std::string(noise_profile_name(e.profile))},
                            {"covers", std::string(noise_profile_covers(e.profile))},
                            {"exact_match_rate", e.rate()},
                            {"matches", e.matches},
                            {"tokens", e.tokens},
                            {"expected_matches_by_chance", e.expected_by_chance},
                            {"log10_lr", num(e.log10_lr)}});
    return json{
        {"verdict", std::string(identify_verdict_name(id.verdict))},
        {"profile", id.profiles.empty() ? json(nullptr) : json(std::string(noise_profile_name(id.best())))},
        {"log10_lr_vs_next", num(id.log10_lr_vs_next)},
        {"mismatch_odds_assumed", kIdentifyMismatch},
        {"profiles", profiles}}
        .dump();
}

}  // namespace difr
