// Gonka's validator and the deterministic-sampling contract, against goldens made by the originals
// (tools/conformance/gonka/gonka_run.sh): Go's customSimilarity on difr's cases, and gonka-ai/vllm's Python
// reference of the weighted draw (Sha256CounterRNG, uint64_below, logprobs_to_weights, sampling).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "difr/gonka.h"
#include "difr/seed_proof.h"

namespace difr {
namespace {

nlohmann::json golden(const std::string &name) {
    std::ifstream in(std::string(DIFR_TEST_DATA) + "/conformance/" + name);
    EXPECT_TRUE(in) << name;
    return nlohmann::json::parse(in);
}

std::vector<GonkaPosition> positions(const nlohmann::json &list) {
    std::vector<GonkaPosition> out;
    for (const auto &p : list) {
        GonkaPosition g{p["token"].get<std::string>(), p["logprob"].get<double>(), {}};
        for (const auto &t : p["top_logprobs"])
            g.top.push_back({t["token"].get<std::string>(), t["logprob"].get<double>()});
        out.push_back(std::move(g));
    }
    return out;
}

TEST(GonkaConformance, CustomSimilarityMatchesGoWithin1e12) {
    const nlohmann::json doc = golden("gonka_similarity.json");
    ASSERT_GE(doc["cases"].size(), 70u);
    size_t bit_exact = 0, clamped = 0, errors = 0;
    for (const auto &c : doc["cases"]) {
        const auto orig = positions(c["original"]), val = positions(c["validation"]);
        const double go = std::strtod(c["similarity"].get<std::string>().c_str(), nullptr);
        const double mine = gonka_custom_similarity(orig, val);
        EXPECT_NEAR(mine, go, 1e-12) << c["name"];
        uint64_t bits;
        std::memcpy(&bits, &mine, 8);
        bit_exact += std::strtoull(c["bits"].get<std::string>().c_str(), nullptr, 16) == bits;
        clamped += go == 0.0 && c["name"].get<std::string>().find("clamped") != std::string::npos;
        errors += go == 0.0 && c["name"].get<std::string>().find("empty") != std::string::npos;
    }
    // The same float64 operations in the same order: every value is bit for bit Go's.
    EXPECT_EQ(bit_exact, doc["cases"].size());
    EXPECT_EQ(clamped, 1u);  // the cases reach both zero paths
    EXPECT_EQ(errors, 1u);
}

TEST(GonkaConformance, Sha256CounterRngMatchesTheReference) {
    const nlohmann::json doc = golden("detsample.json");
    for (const auto &u : doc["u64"]) {
        Sha256CounterRng rng(u["seed"].get<std::string>());
        for (const auto &v : u["values"])
            EXPECT_EQ(rng.next_u64(), std::stoull(v.get<std::string>())) << u["seed"];
    }
    // The contract's own reference vector.
    EXPECT_EQ(Sha256CounterRng("reference_seed_v1").next_u64(), 4286832458236889005ull);
    for (const auto &b : doc["below"]) {
        Sha256CounterRng rng(b["seed"].get<std::string>());
        const uint64_t n = std::stoull(b["n"].get<std::string>());
        for (const auto &v : b["values"])
            EXPECT_EQ(rng.below(n), std::stoull(v.get<std::string>())) << b["n"];
        EXPECT_EQ(rng.counter(), b["counter"].get<uint64_t>()) << "rejections differ for n = " << b["n"];
    }
}

TEST(GonkaConformance, DecimalWeightsAndDrawMatchTheReference) {
    const nlohmann::json doc = golden("detsample.json");
    ASSERT_GE(doc["weights"].size(), 100u);
    size_t i = 0;
    for (const auto &c : doc["weights"]) {
        std::map<std::string, std::string> lps;
        for (const auto &[k, v] : c["logprobs"].items()) lps[k] = v.get<std::string>();
        DetsampleParams p;
        p.temperature = c["temperature"].get<std::string>();
        if (!c["top_p"].is_null()) p.top_p = c["top_p"].get<std::string>();
        if (!c["min_p"].is_null()) p.min_p = c["min_p"].get<std::string>();
        if (!c["top_k"].is_null()) p.top_k = c["top_k"].get<int32_t>();
        const std::map<std::string, int64_t> w = detsample_weights(lps, p);
        std::map<std::string, int64_t> want;
        for (const auto &[k, v] : c["weights"].items()) want[k] = v.get<int64_t>();
        EXPECT_EQ(w, want) << "case " << i;
        Sha256CounterRng rng(c["seed"].get<std::string>());
        EXPECT_EQ(detsample_sample(lps, p, rng), c["sampled"].get<std::string>()) << "case " << i;
        EXPECT_EQ(rng.counter(), c["counter"].get<uint64_t>()) << "case " << i;
        ++i;
    }
}

}  // namespace
}  // namespace difr
