// The vllm and vllm-0.22 noise profiles against vLLM's Gumbel sampler run by Triton's interpreter
// (tests/data/conformance/vllm_*.json, made by tools/conformance/vllm_gumbel.py).
#include <gtest/gtest.h>

#include "conformance_data.h"
#include "difr/metrics.h"
#include "difr/noise.h"

namespace {

using namespace conformance;
using difr::NoiseProfile;

TEST(VllmConformance, KeyIsTritonRandintOfSeedAndPosition) {
    const json g = golden_load("vllm_noise.json");
    Tally t;
    for (const auto &c : g.at("cases")) {
        const uint64_t seed = c.at("seed");
        const int64_t pos = c.at("pos");
        ++t.compared;
        t.bit_exact += difr::vllm_noise_key(seed, pos) == c.at("key").get<uint64_t>();
        EXPECT_EQ(difr::vllm_noise_key(seed, pos), c.at("key").get<uint64_t>())
            << "seed " << seed << " pos " << pos;
    }
    t.record();
}

TEST(VllmConformance, UniformIsBitExact) {
    const json g = golden_load("vllm_noise.json");
    Tally t;
    for (const auto &c : g.at("cases")) {
        const uint64_t key = difr::vllm_noise_key(c.at("seed"), c.at("pos"));
        const auto &tokens = c.at("tokens");
        for (size_t i = 0; i < tokens.size(); ++i) {
            // The golden u is after vLLM's clamp, which only moves u = 0.
            const float u = std::max(difr::vllm_noise_uniform(key, tokens[i]), 4.6566127342e-10f);
            const float want = f32_from_bits(c.at("u_bits")[i]);
            t.add_ulp(u, want);
            ASSERT_EQ(f32_bits(u), f32_bits(want))
                << "seed " << c.at("seed") << " pos " << c.at("pos") << " token " << tokens[i];
        }
    }
    t.record();
}

TEST(VllmConformance, WholeRowsOfUniformsHashTheSame) {
    const json g = golden_load("vllm_noise.json");
    Tally t;
    for (const auto &r : g.at("full_rows")) {
        const uint64_t key = difr::vllm_noise_key(r.at("seed"), r.at("pos"));
        std::vector<float> u(r.at("n_vocab").get<size_t>());
        for (size_t i = 0; i < u.size(); ++i)
            u[i] = std::max(difr::vllm_noise_uniform(key, (int32_t)i), 4.6566127342e-10f);
        const bool same = fnv1a64(u) == r.at("u_fnv1a64").get<std::string>();
        EXPECT_TRUE(same) << "seed " << r.at("seed") << " pos " << r.at("pos");
        EXPECT_EQ(fnv1a64(std::span(u).first(49152)), r.at("u_fnv1a64_first_49152").get<std::string>());
        t.compared += (int64_t)u.size();
        t.bit_exact += same ? (int64_t)u.size() : 0;
    }
    t.record();
}

// G goes through log and log1p, and no two libms agree on every float: the golden's G is numpy's (the
// interpreter's), difr's is glibc's, vLLM's on a GPU is CUDA's. numpy's float32 log (its own SIMD kernel) is
// within 4 ulp of the correctly rounded log, glibc's logf within 1. The outer log takes an argument near 1
// when G is near 0, where a few ulp of the inner value become many ulp of a tiny G, so the bound is absolute
// near 0 and relative elsewhere: |dG| <= 4 * 2^-23 * max(1, |G|). u above, and so the sampled tokens below,
// must match exactly.
void check_gumbel(NoiseProfile profile, const char *field) {
    const json g = golden_load("vllm_noise.json");
    Tally t;
    for (const auto &c : g.at("cases")) {
        const uint64_t key = difr::vllm_noise_key(c.at("seed"), c.at("pos"));
        const auto &tokens = c.at("tokens");
        for (size_t i = 0; i < tokens.size(); ++i) {
            const float got = difr::vllm_noise_gumbel(key, tokens[i], profile);
            const float want = f32_from_bits(c.at(field)[i]);
            t.add_ulp(got, want);
            const double dev = std::fabs(double(got) - want) / std::max(1.0, std::fabs(double(want)));
            t.max_rel = std::max(t.max_rel, dev);
            EXPECT_LE(dev, 4 * 0x1p-23) << field << " token " << tokens[i] << ": " << got << " vs " << want;
        }
    }
    t.record();
}

TEST(VllmConformance, GumbelMatchesTheInterpreterToLibmPrecision) {
    check_gumbel(NoiseProfile::vllm_0_30, "g_bits");
}

TEST(VllmConformance, OldGumbelMatchesTheInterpreterToLibmPrecision) {
    check_gumbel(NoiseProfile::vllm_0_22, "g_old_bits");
}

// Keys whose raw word for token 0 is 0, 1, 0xffffffff, 0xfffffffe, 0x7fffffff and 0x80000000: the folding of
// negative words in uint_to_uniform_float and the u = 0 clamp, which differs between 0.22-0.23 and later.
TEST(VllmConformance, EdgesOfTheUniformAndTheClamps) {
    const json g = golden_load("vllm_noise.json");
    Tally t;
    for (const auto &e : g.at("edges")) {
        const uint64_t key = e.at("key");
        const float u = std::max(difr::vllm_noise_uniform(key, 0), 4.6566127342e-10f);
        EXPECT_EQ(f32_bits(u), e.at("u_bits").get<uint32_t>()) << "key " << key;
        const float want = f32_from_bits(e.at("g_bits")), want_old = f32_from_bits(e.at("g_old_bits"));
        const float got = difr::vllm_noise_gumbel(key, 0),
                    got_old = difr::vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_22);
        t.add_ulp(got, want);
        t.add_ulp(got_old, want_old);
        EXPECT_NEAR(got, want, 4 * 0x1p-23 * std::max(1.0f, std::fabs(want))) << "key " << key;
        EXPECT_NEAR(got_old, want_old, 4 * 0x1p-23 * std::max(1.0f, std::fabs(want_old))) << "key " << key;
    }
    t.record();
}

TEST(VllmConformance, SampledTokensMatchTheKernel) {
    const json g = golden_load("vllm_sample.json");
    difr::MetricsScratch scratch;
    Tally t;
    for (const auto &c : g.at("cases")) {
        const int32_t n_vocab = c.at("n_vocab");
        const std::vector<float> logits = synthetic_logits(n_vocab, c.at("logits"));
        difr::SamplingParams params;
        params.temperature = c.at("temperature");
        params.seed = c.at("seed");
        auto noise = difr::noise_stream_make(NoiseProfile::vllm_0_30, params.seed, n_vocab);
        noise->seek(c.at("pos"));
        const int32_t got = difr::sampling_sample(logits, params, noise.get(), scratch);
        ++t.compared;
        t.bit_exact += got == c.at("sampled").get<int32_t>();
        EXPECT_EQ(got, c.at("sampled").get<int32_t>()) << "V " << n_vocab << " T " << params.temperature
                                                       << " seed " << params.seed << " pos " << c.at("pos");
    }
    t.record();
}

}  // namespace
