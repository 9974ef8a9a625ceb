// The vllm noise profile (noise.h): key = Triton randint(seed, pos); u = Triton rand(key, token), i.e.
// Philox4x32-10 then uint_to_uniform_float; G = -log(-log1p(-u)) (vLLM Model Runner V2) or -log(-log u)
// (vLLM 0.22-0.23).
// Golden vectors from Triton itself live in tests/data/conformance; these tests pin the arithmetic by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "difr/noise.h"
#include "difr/philox.h"

namespace {

using difr::NoiseProfile;
using difr::vllm_noise_gumbel;
using difr::vllm_noise_key;
using difr::vllm_noise_uniform;

// Triton's scale 4.6566127342e-10 rounded to float: the decimal lies just below the midpoint between
// 2^-31 - 2^-55 and 2^-31, so it rounds down to (1 - 2^-24) * 2^-31 = 0x1.fffffep-32.
constexpr float kScale = 0x1.fffffep-32f;
constexpr float kOneBelow = 1.0f - 0x1p-24f;  // 0.99999994, the largest float below 1
const float kLn2 = 0.69314718f;

uint32_t bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

// The first output word of philox4x32_10 on counter (token, 0, 0, 0), key (lo32, hi32): what rand() reads.
uint32_t raw_word(uint64_t key, int32_t token) {
    return difr::philox4x32_10({uint32_t(token), 0, 0, 0}, {uint32_t(key), uint32_t(key >> 32)})[0];
}

TEST(VllmNoise, TritonScaleIsTheFloatJustBelowTwoToMinus31) {
    EXPECT_EQ(4.6566127342e-10f, kScale);
    // The largest folded word, 2^31 - 1, rounds to the float 2^31; times the scale that is 1 - 2^-24 < 1.
    EXPECT_EQ(float(2147483647) * kScale, kOneBelow);
}

TEST(VllmNoise, KeyIsFirstWordOfPhilox4x32OnThePosition) {
    // seed 0, pos 0: counter (0, 0, 0, 0), key (0, 0) is Random123's all-zero philox4x32 vector, first word
    // 6627e8d5 (zero-extended to 64 bits).
    EXPECT_EQ(vllm_noise_key(0, 0), 0x6627e8d5ull);
    // In general (noise.h): counter (lo32(pos), hi32(pos), 0, 0), key (lo32(seed), hi32(seed)).
    EXPECT_EQ(vllm_noise_key(42, 17), difr::philox4x32_10({17, 0, 0, 0}, {42, 0})[0]);
    EXPECT_EQ(vllm_noise_key(0x0123456789abcdefull, 0x0000000500000003ll),
              difr::philox4x32_10({3, 5, 0, 0}, {0x89abcdefu, 0x01234567u})[0]);
    // Seed and position are not interchangeable (one is the key, the other the counter).
    EXPECT_NE(vllm_noise_key(1, 2), vllm_noise_key(2, 1));
}

TEST(VllmNoise, UniformOfTheAllZeroPhiloxBlock) {
    // key 0, token 0: philox4x32 all-zero vector, first word 0x6627e8d5 = 1713891541 (positive as int32).
    // float: 2^30 <= x < 2^31 so the spacing is 128; 1713891541 = 128 * 13389777 + 85 rounds up to
    // 128 * 13389778. Times (1 - 2^-24) 2^-31: 13389778 (1 - 2^-24) / 2^24 = (13389778 - 0.798) / 2^24, and
    // floats in [0.5, 1) are spaced 2^-24, so u = 13389777 / 2^24 = 0.79809290.
    EXPECT_EQ(raw_word(0, 0), 0x6627e8d5u);
    EXPECT_EQ(vllm_noise_uniform(0, 0), 13389777.0f / 16777216.0f);
    // -log1p(-u) = -log(0.20190710) = 1.59988 -> G = -0.46997; vLLM 0.22: -log(u) = 0.22553 -> G = 1.48930.
    EXPECT_NEAR(vllm_noise_gumbel(0, 0, NoiseProfile::vllm_0_30), -0.4699709f, 2e-6f);
    EXPECT_NEAR(vllm_noise_gumbel(0, 0, NoiseProfile::vllm_0_22), 1.4893009f, 2e-6f);
}

// Hand-picked raw words. Triton's uint_to_uniform_float bitcasts to int32 and applies
// `x = where(x < 0, -x - 1, x); x * 4.6566127342e-10`. The keys below were found by a brute-force search
// over keys with token 0 (each test first checks that the key gives that word).

TEST(VllmNoise, RawZeroIsUniformZeroAndIsClampedForG) {
    const uint64_t key = 0x6d7e45b7ull;
    ASSERT_EQ(raw_word(key, 0), 0x00000000u);
    EXPECT_EQ(bits(vllm_noise_uniform(key, 0)), bits(0.0f));
    // u = 0 would give G = +inf (vllm) or -inf (0.22). vllm clamps u to the scale s = 2^-31 (1 - 2^-24):
    // -log1p(-s) = s to float precision, G = -log s = 31 ln 2 = 21.48756.
    // vLLM 0.22-0.23 clamp to FLT_MIN = 2^-126: -log u = 126 ln 2, G = -log(126 ln 2) = -4.46977.
    EXPECT_FLOAT_EQ(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_30), 31 * kLn2);
    EXPECT_FLOAT_EQ(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_22), -std::log(126 * kLn2));
}

TEST(VllmNoise, RawOneIsTheSmallestPositiveUniform) {
    const uint64_t key = 0x2d52b090ull;
    ASSERT_EQ(raw_word(key, 0), 0x00000001u);
    EXPECT_EQ(vllm_noise_uniform(key, 0), kScale);  // 1 * s
    // The clamp floor is s itself, so u = 0 and u = s give the very same G.
    EXPECT_EQ(bits(vllm_noise_gumbel(key, 0)), bits(vllm_noise_gumbel(0x6d7e45b7ull, 0)));
}

TEST(VllmNoise, RawAllOnesFoldsToZero) {
    // 0xffffffff is int32 -1: -(-1) - 1 = 0.
    const uint64_t key = 0x5099a7e8ull;
    ASSERT_EQ(raw_word(key, 0), 0xffffffffu);
    EXPECT_EQ(bits(vllm_noise_uniform(key, 0)), bits(0.0f));
    EXPECT_TRUE(std::isfinite(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_30)));
    EXPECT_TRUE(std::isfinite(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_22)));
}

TEST(VllmNoise, RawFffffffeFoldsToOne) {
    // 0xfffffffe is int32 -2: -(-2) - 1 = 1, u = s.
    const uint64_t key = 0x409cb13ull;
    ASSERT_EQ(raw_word(key, 0), 0xfffffffeu);
    EXPECT_EQ(vllm_noise_uniform(key, 0), kScale);
}

TEST(VllmNoise, RawIntMaxIsTheLargestUniformBelowOne) {
    // 0x7fffffff = 2^31 - 1 rounds to the float 2^31; 2^31 * (1 - 2^-24) 2^-31 = 1 - 2^-24 exactly.
    const uint64_t key = 0xca206c45ull;
    ASSERT_EQ(raw_word(key, 0), 0x7fffffffu);
    EXPECT_EQ(vllm_noise_uniform(key, 0), kOneBelow);
    // vllm: -log1p(-(1 - 2^-24)) = 24 ln 2, G = -log(24 ln 2) = -2.81154.
    // 0.22: -log(1 - 2^-24) = 2^-24 to float precision, G = 24 ln 2 = 16.63553.
    EXPECT_FLOAT_EQ(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_30), -std::log(24 * kLn2));
    EXPECT_FLOAT_EQ(vllm_noise_gumbel(key, 0, NoiseProfile::vllm_0_22), 24 * kLn2);
}

TEST(VllmNoise, RawIntMinFoldsToIntMax) {
    // 0x80000000 is int32 -2^31. In Triton's two's-complement arithmetic -x wraps to -2^31 and -x - 1 wraps
    // to 2^31 - 1, so it lands on the same u as 0x7fffffff (and must not overflow in C++).
    const uint64_t key = 0x1e11d6aacull;
    ASSERT_EQ(raw_word(key, 0), 0x80000000u);
    EXPECT_EQ(vllm_noise_uniform(key, 0), kOneBelow);
}

TEST(VllmNoise, Log1pFormIsTheOldLogFormMirrored) {
    // -log(-log1p(-u)) = -log(-log(1 - u)): the Model Runner V2 noise at u is the 0.22 noise at 1 - u. Both
    // are Gumbel, but they are different streams (decreasing vs increasing in u), so the profiles are not
    // interchangeable. Checked against the formulas in double on the first 1000 tokens of one key.
    const uint64_t key = vllm_noise_key(7, 100);
    int32_t disagree = 0;
    for (int32_t t = 0; t < 1000; ++t) {
        const double u = std::max(vllm_noise_uniform(key, t), kScale);
        const float g = vllm_noise_gumbel(key, t, NoiseProfile::vllm_0_30);
        const float g_old = vllm_noise_gumbel(key, t, NoiseProfile::vllm_0_22);
        ASSERT_NEAR(g, -std::log(-std::log(1.0 - u)), 1e-5 * std::max(1.0, double(std::fabs(g))))
            << "token " << t;
        ASSERT_NEAR(g_old, -std::log(-std::log(u)), 1e-5 * std::max(1.0, double(std::fabs(g_old))))
            << "token " << t;
        disagree += (g > 0.3665f) != (g_old < 0.3665f);  // both cross -log(ln 2) = 0.36651 at u = 1/2
    }
    EXPECT_EQ(disagree, 0);
}

TEST(VllmNoise, LargerUniformMeansSmallerGumbel) {
    // vllm form: G decreasing in u. u(key 0, token 0) = 0.798 > u(raw 0x00000001) = s.
    EXPECT_LT(vllm_noise_gumbel(0, 0), vllm_noise_gumbel(0x2d52b090ull, 0));
    EXPECT_GT(vllm_noise_gumbel(0, 0, NoiseProfile::vllm_0_22),
              vllm_noise_gumbel(0x2d52b090ull, 0, NoiseProfile::vllm_0_22));
}

TEST(VllmNoiseStream, SameSeedPositionAndTokenGiveTheSameBits) {
    auto a = difr::noise_stream_make(NoiseProfile::vllm_0_30, 1234, 1000);
    auto b = difr::noise_stream_make(NoiseProfile::vllm_0_30, 1234, 1000);
    a->seek(57);
    b->seek(57);
    for (int32_t t = 0; t < 1000; ++t) ASSERT_EQ(bits(a->gumbel(t)), bits(b->gumbel(t))) << "token " << t;
}

TEST(VllmNoiseStream, DifferentSeedsOrPositionsGiveDifferentStreams) {
    // Independent streams: G is a float of a 31-bit uniform, so a chance equality among 1000 tokens has
    // probability well under 1e-3; with these fixed seeds there is none.
    auto base = difr::noise_stream_make(NoiseProfile::vllm_0_30, 1234, 1000);
    auto other_seed = difr::noise_stream_make(NoiseProfile::vllm_0_30, 1235, 1000);
    auto other_pos = difr::noise_stream_make(NoiseProfile::vllm_0_30, 1234, 1000);
    base->seek(57);
    other_seed->seek(57);
    other_pos->seek(58);
    int32_t same_seed_hits = 0, same_pos_hits = 0;
    for (int32_t t = 0; t < 1000; ++t) {
        same_seed_hits += base->gumbel(t) == other_seed->gumbel(t);
        same_pos_hits += base->gumbel(t) == other_pos->gumbel(t);
    }
    EXPECT_EQ(same_seed_hits, 0);
    EXPECT_EQ(same_pos_hits, 0);
}

TEST(VllmNoiseStream, SubsetOfTokensEqualsTheFullStream) {
    // Counter-based: G at (seed, pos, token) does not depend on which other tokens were asked, in what order,
    // or on earlier rows, so a verifier may draw noise only for the surviving candidates.
    const uint64_t seed = 99;
    const int64_t pos = 300;
    auto full = difr::noise_stream_make(NoiseProfile::vllm_0_30, seed, 262144);
    full->seek(pos);
    std::vector<float> all(2000);
    for (int32_t t = 0; t < 2000; ++t) all[t] = full->gumbel(t);

    auto sparse = difr::noise_stream_make(NoiseProfile::vllm_0_30, seed, 262144);
    sparse->seek(pos + 5);  // an unrelated row first
    sparse->gumbel(3);
    sparse->seek(pos);
    const uint64_t key = vllm_noise_key(seed, pos);
    for (int32_t t : {1999, 17, 0, 1024, 17}) {
        EXPECT_EQ(bits(sparse->gumbel(t)), bits(all[t])) << "token " << t;
        EXPECT_EQ(bits(sparse->gumbel(t)), bits(vllm_noise_gumbel(key, t))) << "token " << t;
    }
    // A large id of a 262k vocabulary, straight from the functions.
    EXPECT_EQ(bits(sparse->gumbel(262143)), bits(vllm_noise_gumbel(key, 262143)));
}

TEST(VllmNoiseStream, ProfileSelectsTheFormula) {
    auto s = difr::noise_stream_make(NoiseProfile::vllm_0_22, 5, 100);
    s->seek(9);
    const uint64_t key = vllm_noise_key(5, 9);
    for (int32_t t = 0; t < 100; ++t)
        ASSERT_EQ(bits(s->gumbel(t)), bits(vllm_noise_gumbel(key, t, NoiseProfile::vllm_0_22)));
}

TEST(VllmNoise, UniformIsInZeroOneAndGumbelIsFinite) {
    const uint64_t key = vllm_noise_key(2024, 1);
    for (int32_t t = 0; t < 100000; ++t) {
        const float u = vllm_noise_uniform(key, t);
        ASSERT_GE(u, 0.0f) << "token " << t;
        ASSERT_LT(u, 1.0f) << "token " << t;
        ASSERT_TRUE(std::isfinite(vllm_noise_gumbel(key, t, NoiseProfile::vllm_0_30))) << "token " << t;
        ASSERT_TRUE(std::isfinite(vllm_noise_gumbel(key, t, NoiseProfile::vllm_0_22))) << "token " << t;
    }
}

// Gumbel(0, 1) has mean gamma = 0.5772157 (Euler-Mascheroni) and variance pi^2/6 = 1.644934. Over n = 2^20
// tokens the standard error of the mean is sqrt(pi^2/6 / n) = 1.2825 / 1024 = 0.00125, so a bound of 0.01 is
// 8 standard errors. The sample variance has standard error sqrt((mu4 - sigma^4) / n) with excess kurtosis
// 12/5, i.e. sqrt(4.4) * 1.6449 / 1024 = 0.0034; a bound of 0.03 is ~9 standard errors. The float
// quantisation of u truncates G to [-2.81, 21.49] (vllm), which moves both by less than 1e-6.
void expect_standard_gumbel(NoiseProfile profile) {
    const int32_t n = 1 << 20;
    const uint64_t key = vllm_noise_key(31337, 4096);
    double sum = 0, sum2 = 0, sum_u = 0;
    for (int32_t t = 0; t < n; ++t) {
        const double g = vllm_noise_gumbel(key, t, profile);
        sum += g;
        sum2 += g * g;
        sum_u += vllm_noise_uniform(key, t);
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.5772157, 0.01) << difr::noise_profile_name(profile);
    EXPECT_NEAR(var, 1.6449341, 0.03) << difr::noise_profile_name(profile);
    // u: mean 1/2, standard error sqrt(1/12 / n) = 0.00028; bound 0.002 is 7 standard errors.
    EXPECT_NEAR(sum_u / n, 0.5, 0.002);
}

TEST(VllmNoise, GumbelHasTheEulerMascheroniMean) {
    expect_standard_gumbel(NoiseProfile::vllm_0_30);
}
TEST(VllmNoise, OldLogFormHasTheEulerMascheroniMean) {
    expect_standard_gumbel(NoiseProfile::vllm_0_22);
}

TEST(NoiseProfile, NamesRoundTrip) {
    for (NoiseProfile p : difr::kNoiseProfiles)
        EXPECT_EQ(difr::noise_profile_from_name(difr::noise_profile_name(p)), p)
            << difr::noise_profile_name(p);
    EXPECT_EQ(difr::noise_profile_name(NoiseProfile::vllm), "vllm");
    EXPECT_EQ(difr::noise_profile_name(NoiseProfile::vllm_0_30), "vllm-0.30");
    EXPECT_EQ(difr::noise_profile_name(NoiseProfile::vllm_0_22), "vllm-0.22");
    // vllm is vLLM 0.31+ now; vllm-0.30 keeps naming the Philox era (labs pinned to it must not move).
    EXPECT_EQ(difr::noise_profile_from_name("vllm"), NoiseProfile::vllm);
    EXPECT_EQ(difr::noise_profile_from_name("vllm-0.30"), NoiseProfile::vllm_0_30);
    EXPECT_EQ(difr::noise_profile_from_name("vllm-0.33"), NoiseProfile::vllm);
    EXPECT_EQ(difr::noise_profile_from_name("vllm-0.31-fp64"), NoiseProfile::vllm_fp64);
    EXPECT_EQ(difr::noise_profile_from_name("vllm-0.22"), NoiseProfile::vllm_0_22);
    EXPECT_EQ(difr::noise_profile_from_name("auto"), std::nullopt);
    EXPECT_EQ(difr::noise_profile_from_name("torch-cpu-typo"), std::nullopt);
    EXPECT_EQ(difr::noise_profile_from_name(""), std::nullopt);
}

}  // namespace
