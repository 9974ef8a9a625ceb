// The murmur3 profiles (noise.h): vllm (vLLM 0.31-0.33, fp32), vllm-fp64 (--use-fp64-gumbel) and sglang
// (SGLang's deterministic multinomial_with_seed), and SGLang's sorted filter. Hand-checked values; the
// goldens made by the originals themselves are in tests/data/conformance
// (tests/conformance/test_engines.cpp).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "difr/metrics.h"
#include "difr/noise.h"
#include "difr/sampling.h"

namespace {

using difr::murmur3_noise_hash;
using difr::NoiseProfile;

TEST(Murmur3Noise, HashIsMurmurHash3OfSeedPositionAndColumn) {
    // Expected values from the mmh3 package (MurmurHash3_x86_32 of the 16 bytes <u64 seed><u32 pos><u32 col>,
    // little-endian, with the domain as murmur's seed): mmh3.hash(struct.pack('<QII', s, p, c), d,
    // signed=False).
    EXPECT_EQ(murmur3_noise_hash(0, 0, 0), 0x8134cdf8u);
    EXPECT_EQ(murmur3_noise_hash(42, 17, 0), 0xc9a47185u);
    EXPECT_EQ(murmur3_noise_hash(42, 17, 1), 0xd078557fu);
    EXPECT_EQ(murmur3_noise_hash(42, 17, 0, difr::kMurmur3Fp64Domain), 0x3fabfea8u);
    EXPECT_EQ(murmur3_noise_hash(0x100000007ull, 0x100000005ll, 151935), 0x569bdfcau);
    EXPECT_EQ(murmur3_noise_hash(0x100000007ull, 0x100000005ll, 151935, difr::kMurmur3Fp64Domain),
              0x2320d537u);
    EXPECT_EQ(murmur3_noise_hash(0x0123456789abcdefull, (1ll << 40) + 3, 49151), 0x29e9bedau);
    // SGLang issue #25106's vector: the all-ones hash that made G infinite before the clamp.
    EXPECT_EQ(murmur3_noise_hash(7847, 12345, 1208), 0xffffffffu);
}

TEST(Murmur3Noise, OnlyTheLowHalfOfThePositionEnters) {
    // Both engines mix `pos & 0xFFFFFFFF` (the Philox key used both halves): positions 2^32 apart collide.
    EXPECT_EQ(murmur3_noise_hash(9, 5, 77), murmur3_noise_hash(9, 5 + (1ll << 32), 77));
    EXPECT_NE(murmur3_noise_hash(9, 5, 77), murmur3_noise_hash(9, 6, 77));
    // The seed's high half does enter.
    EXPECT_NE(murmur3_noise_hash(9, 5, 77), murmur3_noise_hash(9 + (1ull << 32), 5, 77));
}

TEST(Murmur3Noise, Fp32UniformIsTheRoundedMidpoint) {
    // u = (h + 0.5) / 2^32, correctly rounded to float: h = 0 gives 2^-33 (exact), h = 2^32 - 1 gives
    // 1 - 2^-33, which rounds to 1.0 (spacing below 1 is 2^-24).
    EXPECT_EQ(difr::vllm_murmur3_uniform(0), 0x1p-33f);
    EXPECT_EQ(difr::vllm_murmur3_uniform(0xffffffffu), 1.0f);
    EXPECT_EQ(difr::vllm_murmur3_uniform(1), 1.5f * 0x1p-32f);
    // 0xc9a47185 = 3382997381: (h + 0.5) / 2^32 = 0.787665457814..., the nearest float is 0.78766549.
    EXPECT_EQ(difr::vllm_murmur3_uniform(0xc9a47185u), float((3382997381.0 + 0.5) / 4294967296.0));
    for (uint32_t h = 0; h < 2000000; h += 997)
        ASSERT_EQ(difr::vllm_murmur3_uniform(h), float((double(h) + 0.5) * 0x1p-32)) << h;
}

TEST(Murmur3Noise, Fp32GumbelIsMinusLogMinusLog1pMinusU) {
    // Below u = 0.25 vLLM's degree-8 series stands in for log1p (absolute error < 6e-7 on [0, 0.25]); above,
    // log(1 - u). Either way G = -log(-log(1 - u)) to a few float ulps of the exact value.
    for (uint32_t h :
         {0u, 1u, 0x10000000u, 0x3fffffffu, 0x40000000u, 0x80000000u, 0xc9a47185u, 0xfffffffeu}) {
        const double u = difr::vllm_murmur3_uniform(h);
        const double exact = -std::log(-std::log1p(-u));
        EXPECT_NEAR(difr::vllm_murmur3_gumbel(h), exact, 4e-6 * std::max(1.0, std::fabs(exact))) << h;
    }
    // h = 0: u = 2^-33, the winning tail: -log(-log1p(-2^-33)) = 33 ln 2 = 22.873.
    EXPECT_FLOAT_EQ(difr::vllm_murmur3_gumbel(0), 33 * 0.69314718f);
    // h = 2^32 - 1: u = 1, 1 - u = 0 is clamped to 2^-24: G = -log(24 ln 2) = -2.8115.
    EXPECT_FLOAT_EQ(difr::vllm_murmur3_gumbel(0xffffffffu), -std::log(24 * 0.69314718f));
}

TEST(Murmur3Noise, Fp64UniformTakes53BitsHighHashFirst) {
    // r53 = ((hi << 32) | lo) >> 11, u = (r53 + 0.5) 2^-53.
    EXPECT_EQ(difr::vllm_murmur3_uniform64(0, 0), 0x1p-54);
    EXPECT_EQ(difr::vllm_murmur3_uniform64(0x7ff, 0), 0x1p-54);  // the low 11 bits are dropped
    EXPECT_EQ(difr::vllm_murmur3_uniform64(0x800, 0), 1.5 * 0x1p-53);
    EXPECT_EQ(difr::vllm_murmur3_uniform64(0, 0x80000000u), 0.5 + 0x1p-54);
    // All ones: r53 + 0.5 = 2^53 - 0.5 rounds (to even) to 2^53, u = 1, moved down to 1 - 2^-53.
    EXPECT_EQ(difr::vllm_murmur3_uniform64(0xffffffffu, 0xffffffffu), 1.0 - 0x1p-53);
    const difr::NoiseSample s = difr::noise_sample(NoiseProfile::vllm_fp64, 42, 17, 0);
    EXPECT_EQ(s.words.at(0).second, 0xc9a47185u);
    EXPECT_EQ(s.words.at(1).second, 0x3fabfea8u);
    EXPECT_EQ(s.u, ((double(0x3fabfea8ull << 21 | 0xc9a47185ull >> 11)) + 0.5) * 0x1p-53);
    EXPECT_DOUBLE_EQ(s.gumbel, -std::log(-std::log(s.u)));
}

TEST(Murmur3Noise, SglangNoiseAndItsClamp) {
    // x = h / (2^32 - 1); G = -log(-clamp(log x, -DBL_MAX, -2^-32)).
    EXPECT_EQ(difr::sglang_uniform(0xffffffffu), 1.0);
    EXPECT_DOUBLE_EQ(difr::sglang_gumbel(0xffffffffu), 32 * std::log(2.0));  // 22.1807, not +inf
    EXPECT_DOUBLE_EQ(difr::sglang_gumbel(0), -std::log(DBL_MAX));            // -709.78, not -inf
    // One below the top is not clamped: -log(1/(2^32 - 1)) = log(2^32 - 1), just below 32 ln 2.
    EXPECT_NEAR(difr::sglang_gumbel(0xfffffffeu), std::log(4294967295.0), 1e-9);
    EXPECT_LT(difr::sglang_gumbel(0xfffffffeu), difr::sglang_gumbel(0xffffffffu));
    const difr::NoiseSample s = difr::noise_sample(NoiseProfile::sglang, 7847, 12345, 1208);
    EXPECT_EQ(s.words.at(0).first, "hash");
    EXPECT_EQ(s.words.at(0).second, 0xffffffffu);
    EXPECT_DOUBLE_EQ(s.gumbel, 32 * std::log(2.0));
    EXPECT_TRUE(s.fp64);
}

TEST(Murmur3Noise, SameHashDifferentNoise) {
    // vLLM's noise is decreasing in the hash (-log(-log(1 - u))), SGLang's increasing (-log(-log x)): the
    // same (seed, pos, token) gets mirrored noise, so the profiles are told apart by their tokens.
    const uint32_t h = murmur3_noise_hash(42, 17, 0);
    const double u = difr::vllm_murmur3_uniform(h);
    EXPECT_NEAR(difr::vllm_murmur3_gumbel(h), -std::log(-std::log(1.0 - u)), 1e-5);
    EXPECT_NEAR(difr::sglang_gumbel(h), -std::log(-std::log(u)), 1e-5);
}

TEST(Murmur3NoiseStream, StreamsAgreeWithNoiseSampleAndFlagPrecision) {
    for (NoiseProfile p : {NoiseProfile::vllm, NoiseProfile::vllm_fp64, NoiseProfile::sglang,
                           NoiseProfile::vllm_0_30, NoiseProfile::vllm_0_30_fp64, NoiseProfile::vllm_0_22}) {
        auto s = difr::noise_stream_make(p, 0x123456789ull, 1000);
        s->seek((1ll << 32) + 11);
        for (int32_t t : {0, 1, 999, 500}) {
            const difr::NoiseSample n = difr::noise_sample(p, 0x123456789ull, (1ll << 32) + 11, uint32_t(t));
            if (s->fp64())
                ASSERT_EQ(s->gumbel64(t), n.gumbel) << difr::noise_profile_name(p);
            else
                ASSERT_EQ(double(s->gumbel(t)), n.gumbel) << difr::noise_profile_name(p);
        }
        const bool fp64 =
            p == NoiseProfile::vllm_fp64 || p == NoiseProfile::sglang || p == NoiseProfile::vllm_0_30_fp64;
        EXPECT_EQ(s->fp64(), fp64) << difr::noise_profile_name(p);
        EXPECT_EQ(s->sglang_sampler(), p == NoiseProfile::sglang);
    }
    EXPECT_THROW(difr::noise_sample(NoiseProfile::torch_cpu, 1, 1, 1), std::invalid_argument);
    EXPECT_THROW(difr::noise_sample(NoiseProfile::llama_cpp, 1, 1, 1), std::invalid_argument);
}

TEST(Murmur3Noise, Philox64UsesTwoWordsOfTheSameBlock) {
    // tl_rand64: words 0 and 1 of Philox4x32-10 on counter (token, 0, 0, 0), key (key, 0); r = w1 w0.
    const difr::NoiseSample s = difr::noise_sample(NoiseProfile::vllm_0_30_fp64, 0, 0, 0);
    ASSERT_EQ(s.words.size(), 3u);
    EXPECT_EQ(s.words[0].second, 0x6627e8d5u);  // the key, as the fp32 profile's
    const uint64_t r = (uint64_t(s.words[2].second) << 32) | s.words[1].second;
    EXPECT_EQ(s.u, double(r) * 0x1p-64);
    // The fp32 profile reads word 0 of the same block.
    EXPECT_EQ(difr::noise_sample(NoiseProfile::vllm_0_30, 0, 0, 0).words[1].second, s.words[1].second);
}

difr::SamplingParams params(float T, int32_t k, float p) {
    difr::SamplingParams s;
    s.temperature = T;
    s.top_k = k;
    s.top_p = p;
    s.seed = 42;
    return s;
}

TEST(SglangFilter, KeepsARankPrefixOfTheSortedProbabilities) {
    // x = [2, 1, 0, 3]: p = softmax = [0.2447, 0.0900, 0.0331, 0.6652]; sorted: ids 3, 0, 1, 2.
    const std::vector<float> l = {2, 1, 0, 3};
    difr::SamplingCandidates c;
    difr::SamplingScratch s;
    difr::sampling_filter_sglang(l, params(1, 2, 1), c, s);
    EXPECT_TRUE(c.by_rank);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{3, 0}));
    EXPECT_EQ(c.x, (std::vector<float>{3, 2}));
    // top-p keeps rank r while the probability before it is <= p: 0 and 0.6652 for p = 0.7, not 0.9099.
    difr::sampling_filter_sglang(l, params(1, 0, 0.7f), c, s);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{3, 0}));
    difr::sampling_filter_sglang(l, params(1, 0, 0.6f), c, s);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{3}));
    // vLLM's top-p differs: it drops what lies in the bottom 1 - p = 0.3 of the mass: 0.0331 + 0.0900 +
    // 0.2447 = 0.3678 > 0.3, so id 0 survives there too, in token order.
    difr::sampling_filter(l, params(1, 0, 0.7f), c, s);
    EXPECT_FALSE(c.by_rank);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 3}));
    // No filter: nothing sorted, noise by token id.
    difr::sampling_filter_sglang(l, params(1, 0, 1), c, s);
    EXPECT_TRUE(c.all);
    EXPECT_FALSE(c.by_rank);
    // Ties in probability: the lower id first (a stable descending sort).
    difr::sampling_filter_sglang(std::vector<float>{1, 5, 5, 0}, params(1, 1, 1), c, s);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{1}));
}

TEST(SglangFilter, WindowGrowsUntilTheCut) {
    // 3000 equal logits: top-p 0.5 keeps the first 1501 ranks (the mass before rank r is r / 3000), beyond
    // the first 64-wide window.
    const std::vector<float> l(3000, 0.0f);
    difr::SamplingCandidates c;
    difr::SamplingScratch s;
    difr::sampling_filter_sglang(l, params(1, 0, 0.5f), c, s);
    ASSERT_GE(c.ids.size(), 1500u);
    ASSERT_LE(c.ids.size(), 1502u);
    for (size_t r = 0; r < c.ids.size(); ++r) ASSERT_EQ(c.ids[r], int32_t(r));
}

TEST(SglangSampling, SortedPathKeysTheNoiseByRank) {
    // With top-k the noise of the r-th most likely token is G(hash(seed, pos, r)): recompute the argmax by
    // hand.
    const std::vector<float> l = {0.5f, 2.0f, 1.0f, 1.5f, -1.0f, 0.0f};
    const difr::SamplingParams p = params(1, 4, 1);
    auto stream = difr::noise_stream_make(NoiseProfile::sglang, p.seed, 6);
    difr::MetricsScratch scratch;
    const std::vector<int32_t> by_rank = {1, 3, 2, 0};
    for (int64_t pos = 0; pos < 200; ++pos) {
        stream->seek(pos);
        double best = -INFINITY;
        int32_t want = -1;
        for (size_t r = 0; r < by_rank.size(); ++r) {
            const double score =
                double(l[by_rank[r]]) + difr::sglang_gumbel(murmur3_noise_hash(p.seed, pos, r));
            if (score > best) best = score, want = by_rank[r];
        }
        ASSERT_EQ(difr::sampling_sample(l, p, stream.get(), scratch), want) << "pos " << pos;
        const difr::TokenMetrics m = difr::token_metrics_compute(l, want, p, stream.get(), scratch);
        ASSERT_TRUE(m.exact_match);
        ASSERT_EQ(m.gumbel_rank, 0.0f);
    }
}

TEST(SglangSampling, UnfilteredPathKeysTheNoiseByTokenId) {
    const std::vector<float> l = {0.5f, 2.0f, 1.0f, 1.5f, -1.0f, 0.0f};
    const difr::SamplingParams p = params(0.8f, 0, 1);
    auto stream = difr::noise_stream_make(NoiseProfile::sglang, p.seed, 6);
    difr::MetricsScratch scratch;
    for (int64_t pos = 0; pos < 200; ++pos) {
        stream->seek(pos);
        double best = -INFINITY;
        int32_t want = -1;
        for (int32_t i = 0; i < 6; ++i) {
            const double score =
                double(l[i] / 0.8f) + difr::sglang_gumbel(murmur3_noise_hash(p.seed, pos, i));
            if (score > best) best = score, want = i;
        }
        ASSERT_EQ(difr::sampling_sample(l, p, stream.get(), scratch), want) << "pos " << pos;
    }
}

}  // namespace
