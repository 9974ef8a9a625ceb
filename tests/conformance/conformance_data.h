// Shared helpers of the conformance tests: reading the goldens that tools/conformance/ made with the original
// implementations, and rebuilding the synthetic logits they were made from. The twin of this file is
// tools/conformance/common.py; change both or neither.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace conformance {

using nlohmann::json;

inline json golden_load(const std::string &name) {
    const std::string path = std::string(DIFR_TEST_DATA) + "/conformance/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing golden '" + path + "': run tools/conformance/run.sh");
    return json::parse(in);
}

inline uint32_t f32_bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

inline float f32_from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}

// Distance in units in the last place between two finite floats of the same sign (0 when bit-identical).
inline int64_t ulp_distance(float a, float b) {
    auto ordered = [](float f) {
        const int32_t i = (int32_t)f32_bits(f);
        return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
    };
    return std::llabs(ordered(a) - ordered(b));
}

// common.f64_bits: a float64's bit pattern as 16 hex digits.
inline double f64_from_hex(const std::string &hex) {
    const uint64_t b = std::stoull(hex, nullptr, 16);
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
}

inline int64_t ulp_distance64(double a, double b) {
    auto ordered = [](double d) {
        int64_t i;
        std::memcpy(&i, &d, sizeof i);
        return i < 0 ? INT64_MIN - i : i;
    };
    const int64_t x = ordered(a), y = ordered(b);
    return x > y ? x - y : y - x;
}

inline uint64_t splitmix64_at(uint64_t seed, uint64_t idx) {
    uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// common.synthetic_logits: every step is exact in float, so no libm is involved.
inline std::vector<float> synthetic_logits(int32_t n_vocab, const json &spec) {
    const uint64_t seed = spec.at("seed").get<uint64_t>();
    const float scale = std::ldexp(1.0f, spec.at("scale_log2").get<int>());
    std::vector<float> x((size_t)n_vocab);
    for (int32_t i = 0; i < n_vocab; ++i) {
        const float m = float(splitmix64_at(seed, uint64_t(i)) >> 40);
        x[(size_t)i] = (m * 0x1p-23f - 1.0f) * scale;
    }
    if (spec.contains("spikes"))
        for (const auto &s : spec.at("spikes")) x[s.at(0).get<size_t>()] = s.at(1).get<float>();
    return x;
}

// FNV-1a (64-bit) over the little-endian bytes of the float bit patterns, as 16 hex digits.
inline std::string fnv1a64(std::span<const float> values) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (float v : values) {
        const uint32_t b = f32_bits(v);
        for (int k = 0; k < 4; ++k) h = (h ^ ((b >> (8 * k)) & 0xff)) * 0x100000001B3ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

// A tally for the comparison table in docs/conformance.md: tools/conformance/report.py reads these properties
// from the test's JSON output.
struct Tally {
    int64_t compared = 0;
    int64_t bit_exact = 0;
    int64_t max_ulp = 0;
    double max_rel = 0.0;

    void add_ulp(float difr, float original) {
        ++compared;
        const int64_t d = ulp_distance(difr, original);
        bit_exact += d == 0;
        if (d > max_ulp) max_ulp = d;
    }
    void add_ulp64(double difr, double original) {
        ++compared;
        const int64_t d = ulp_distance64(difr, original);
        bit_exact += d == 0;
        if (d > max_ulp) max_ulp = d;
    }
    void record(const std::string &prefix = "") const {
        testing::Test::RecordProperty(prefix + "compared", std::to_string(compared));
        testing::Test::RecordProperty(prefix + "bit_exact", std::to_string(bit_exact));
        testing::Test::RecordProperty(prefix + "max_ulp", std::to_string(max_ulp));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", max_rel);
        testing::Test::RecordProperty(prefix + "max_rel", buf);
    }
};

}  // namespace conformance
