// Gonka's comparisons, operation for operation as the originals compute them in float64 (the order of the
// sums matters for the last bits, and tests/conformance/test_gonka.cpp holds difr to 1e-12 of Go's output).
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "difr/gonka.h"

namespace difr {

namespace {

// Go's sort.Float64s order: NaN first, then ascending.
bool go_float_less(double a, double b) {
    return a < b || (std::isnan(a) && !std::isnan(b));
}

// A Python dict or Go map built from a list: one entry per distinct token, the last value winning; `order`
// keeps the first appearance of each token (Python's iteration order).
struct TokenMap {
    std::unordered_map<std::string, double> value;
    std::vector<std::string> order;
    explicit TokenMap(std::span<const GonkaTop> list) {
        for (const GonkaTop &t : list) {
            auto [it, inserted] = value.insert_or_assign(t.token, t.logprob);
            if (inserted) order.push_back(t.token);
        }
    }
    std::vector<double> sorted_values() const {
        std::vector<double> v;
        for (const auto &[tok, lp] : value) v.push_back(lp);
        std::sort(v.begin(), v.end(), go_float_less);
        return v;
    }
};

}  // namespace

bool gonka_position_distance(std::span<const GonkaTop> original, std::span<const GonkaTop> validation,
                             double &distance) {
    distance = 0.0;
    if (original.empty() || validation.empty()) return false;
    const TokenMap om(original);
    const std::vector<double> sorted = om.sorted_values();
    const double m1 = sorted[0];
    const double m2 = sorted.size() >= 2 ? sorted[1] : m1 - 100.0;
    const double next = m1 - (m2 - m1);
    for (const GonkaTop &v : validation) {
        auto it = om.value.find(v.token);
        const double o = it != om.value.end() ? it->second : next;
        const double denom = 1e-6 + std::fabs(v.logprob) + std::fabs(o);
        distance += std::fabs(v.logprob - o) / denom / 2.0;
    }
    return true;
}

double gonka_custom_similarity(std::span<const GonkaPosition> original,
                               std::span<const GonkaPosition> validation) {
    if (original.empty() || validation.size() < original.size()) return 0.0;
    double distance = 0.0;
    for (size_t i = 0; i < original.size(); ++i) {
        double d = 0.0;
        if (!gonka_position_distance(original[i].top, validation[i].top, d)) return 0.0;  // Inf, err -> 0
        distance += d;
    }
    // Go: max(100, len(original)) * len(original[0].TopLogprobs), an int product, then float64 division.
    const long long total =
        (long long)std::max<size_t>(100, original.size()) * (long long)original[0].top.size();
    const double similarity = 1.0 - distance / (double)total;
    if (similarity < 0.0) return 0.0;
    return similarity;
}

GonkaComparison gonka_compare(std::span<const GonkaPosition> original,
                              std::span<const GonkaPosition> validation) {
    GonkaComparison c;
    if (validation.size() < original.size()) {
        c.outcome = GonkaOutcome::different_length;
        return c;
    }
    for (size_t i = 0; i < original.size(); ++i)
        if (original[i].token != validation[i].token) {
            c.outcome = GonkaOutcome::different_tokens;
            c.first_diff = i;
            return c;
        }
    c.value = gonka_custom_similarity(original, validation);
    return c;
}

std::span<const GonkaPreset> gonka_presets() {
    static const GonkaPreset presets[] = {
        {"mainnet", 0.98, "genesis/genesis.json Model.ValidationThreshold (Qwen2.5-7B, QwQ-32B)"},
        {"pr132", 0.95, "all models 0.95 (gonka PR #132, 2025-05-07)"},
        {"testnet", 0.85, "testnet Model.ValidationThreshold"},
    };
    return presets;
}

Distance2 gonka_distance2(std::span<const GonkaPosition> inference,
                          std::span<const GonkaPosition> validation) {
    Distance2 r;
    if (inference.size() != validation.size() || inference.empty()) return r;
    for (size_t i = 0; i < inference.size(); ++i)
        if (inference[i].token != validation[i].token) return r;
    double total = 0.0;
    long long matches = 0;
    for (size_t i = 0; i < inference.size(); ++i) {
        const TokenMap inf(inference[i].top);
        const TokenMap val(validation[i].top);
        if (val.value.empty()) {
            total += (double)inf.value.size();
            continue;
        }
        std::vector<double> sorted;
        for (const auto &[tok, lp] : val.value) sorted.push_back(lp);
        std::sort(sorted.begin(), sorted.end());
        const double m1 = sorted[0];
        const double m2 = sorted.size() >= 2 ? sorted[1] : m1 - 1.0;
        double dist = 0.0;
        for (const std::string &tok : inf.order) {
            const double lp = inf.value.at(tok);
            auto it = val.value.find(tok);
            double v;
            if (it != val.value.end()) {
                v = it->second;
                ++matches;
            } else {
                v = m1 - (m2 - m1);
            }
            const double denom = 1e-10 + std::fabs(lp) + std::fabs(v);
            dist += std::fabs(lp - v) / denom / 2.0;
        }
        total += dist;
    }
    const double k = (double)TokenMap(inference[0].top).value.size();
    const double n = (double)inference.size();
    r.matches_ratio = (double)matches / (n * k);
    r.distance = (total + 1.0) / (std::max(100.0, n) * k + 1.0);
    return r;
}

}  // namespace difr
