// Activation-DiFR's projection (difr/fingerprint.h) and the 16-bit wire formats (difr/halfprec.h).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

#include "difr/fingerprint.h"
#include "difr/halfprec.h"

namespace difr {
namespace {

TEST(Halfprec, Bf16RoundsToNearestEven) {
    EXPECT_EQ(bf16_from_float(1.0f), 0x3F80);
    EXPECT_EQ(bf16_from_float(-2.0f), 0xC000);
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: to the even one (1); 1 + 3 * 2^-8 goes up to 1 + 2^-6.
    EXPECT_EQ(bf16_from_float(1.00390625f), 0x3F80);
    EXPECT_EQ(bf16_from_float(1.01171875f), 0x3F82);
    EXPECT_EQ(bf16_from_float(std::nanf("")) & 0x7FC0, 0x7FC0);
    EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
}

TEST(Halfprec, Fp16RoundsToNearestEvenWithSubnormalsAndOverflow) {
    EXPECT_EQ(fp16_from_float(1.0f), 0x3C00);
    EXPECT_EQ(fp16_from_float(-2.0f), 0xC000);
    EXPECT_EQ(fp16_from_float(0.1f), 0x2E66);
    EXPECT_EQ(fp16_from_float(65504.0f), 0x7BFF);
    EXPECT_EQ(fp16_from_float(65519.0f), 0x7BFF);
    EXPECT_EQ(fp16_from_float(65520.0f), 0x7C00);  // halfway to 65536: to even, which is infinity
    EXPECT_EQ(fp16_from_float(std::ldexp(1.0f, -24)), 0x0001);
    EXPECT_EQ(fp16_from_float(std::ldexp(1.0f, -25)), 0x0000);         // tie to even zero
    EXPECT_EQ(fp16_from_float(std::ldexp(3.0f, -25)), 0x0002);         // tie to even 2
    EXPECT_EQ(fp16_from_float(std::ldexp(1.0f, -14)), 0x0400);         // smallest normal
    EXPECT_EQ(fp16_from_float(std::ldexp(1023.0f, -24)), 0x03FF);      // largest subnormal
    EXPECT_EQ(fp16_from_float(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
    EXPECT_EQ(fp16_from_float(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
    // Every half value converts back and forth exactly.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;  // NaN payloads
        EXPECT_EQ(fp16_from_float(fp16_to_float(uint16_t(h))), h) << h;
    }
}

TEST(FingerprintProjection, DeterministicLogIsAccurate) {
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
        const double x = std::ldexp(double(rng() >> 11) * 0x1.0p-53 + 1e-300, -int(rng() % 40));
        const double want = std::log(x), got = fingerprint_log(x);
        EXPECT_NEAR(got, want, 4e-16 * std::max(1.0, std::fabs(want))) << x;
    }
    EXPECT_EQ(fingerprint_log(1.0), 0.0);
}

TEST(FingerprintProjection, GaussiansHaveUnitMomentsAndDependOnlyOnTheirCoordinates) {
    double s1 = 0, s2 = 0, s4 = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        const double z = fingerprint_gaussian(42, uint32_t(i / 100), uint32_t(i % 100));
        s1 += z, s2 += z * z, s4 += z * z * z * z;
    }
    EXPECT_NEAR(s1 / n, 0.0, 0.01);
    EXPECT_NEAR(s2 / n, 1.0, 0.01);
    EXPECT_NEAR(s4 / n, 3.0, 0.05);  // the normal's kurtosis
    EXPECT_EQ(fingerprint_gaussian(42, 5, 7), fingerprint_gaussian(42, 5, 7));
    EXPECT_NE(fingerprint_gaussian(42, 5, 7), fingerprint_gaussian(43, 5, 7));
    // Pinned: the projection is a format; a change here breaks every fingerprint already issued.
    EXPECT_EQ(std::bit_cast<uint64_t>(fingerprint_gaussian(42, 0, 0)), 0x3ff1fc6db3b6839full);
}

TEST(FingerprintProjection, OrthonormalColumnsScaledToSqrtDOverK) {
    FingerprintSpec s;
    s.dim = 96;
    s.k = 16;
    const std::vector<float> p = fingerprint_projection(s);
    ASSERT_EQ(p.size(), 96u * 16u);
    for (int a = 0; a < 16; ++a)
        for (int b = 0; b < 16; ++b) {
            double dot = 0;
            for (int i = 0; i < 96; ++i) dot += double(p[i * 16 + a]) * p[i * 16 + b];
            EXPECT_NEAR(dot, a == b ? 96.0 / 16.0 : 0.0, 1e-5) << a << " " << b;
        }
    s.basis = FingerprintBasis::gaussian;
    const std::vector<float> g = fingerprint_projection(s);
    EXPECT_FLOAT_EQ(g[0], float(fingerprint_gaussian(42, 0, 0) / 4.0));  // N(0,1) / sqrt(k)
}

TEST(FingerprintProjection, SpecsOutOfRangeAreRejected) {
    FingerprintSpec s;
    s.dim = 64;
    s.k = 1;
    EXPECT_THROW(s.validate(), std::invalid_argument);
    s.k = 129;
    EXPECT_THROW(s.validate(), std::invalid_argument);
    s.k = 128;
    EXPECT_THROW(s.validate(), std::invalid_argument);  // orthonormal needs k <= D
    s.basis = FingerprintBasis::gaussian;
    EXPECT_NO_THROW(s.validate());
    EXPECT_EQ(s.bytes_per_token(), 256);
    EXPECT_THROW(fingerprint_basis_parse("qr"), std::invalid_argument);
    EXPECT_EQ(fingerprint_dtype_parse("bf16"), FingerprintDtype::bf16);
}

TEST(FingerprintProjection, DistancesPreserveNormsAndSeeDifferences) {
    FingerprintSpec s;
    s.dim = 576;
    s.k = 64;
    const FingerprintProjector proj(s);
    std::mt19937 rng(11);
    std::normal_distribution<float> nd;
    std::vector<float> h(576), h2(576);
    double n2 = 0, d2 = 0;
    for (int i = 0; i < 576; ++i) {
        h[i] = nd(rng);
        h2[i] = h[i] + 0.1f * nd(rng);
        n2 += double(h[i]) * h[i];
        d2 += double(h2[i] - h[i]) * (h2[i] - h[i]);
    }
    std::vector<uint16_t> f(64), f2(64), again(64);
    proj.project(h, f);
    proj.project(h, again);
    proj.project(h2, f2);
    EXPECT_EQ(f, again);
    EXPECT_EQ(fingerprint_distance(f, again, s.dtype), 0.0);
    // E|P^T h|^2 = |h|^2 and E|P^T d|^2 = |d|^2: within 40% at k = 64 (chi-square with 64 degrees of freedom)
    EXPECT_NEAR(fingerprint_norm(f, s.dtype) / std::sqrt(n2), 1.0, 0.4);
    EXPECT_NEAR(fingerprint_distance(f, f2, s.dtype) / std::sqrt(d2), 1.0, 0.4);
    std::vector<float> huge(576, 1e6f);
    EXPECT_THROW(proj.project(huge, f),
                 std::range_error);  // column sums ~ N(0, 9): 1e6 times that overflows fp16
    EXPECT_THROW(proj.project(std::span(h).first(10), f), std::invalid_argument);
}

}  // namespace
}  // namespace difr
