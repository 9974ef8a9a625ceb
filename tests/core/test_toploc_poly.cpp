// TOPLOC's arithmetic (difr/toploc.h): GF(65497) interpolation, the injective modulus, top-k, the byte and
// base64 formats with their strict parsing, and verification. The package's own outputs are compared in
// tests/conformance/test_toploc_package.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "difr/halfprec.h"
#include "difr/toploc.h"

namespace difr {
namespace {

std::vector<uint16_t> gaussian_bf16(uint32_t seed, size_t n) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<uint16_t> v(n);
    for (auto &x : v) x = bf16_from_float(nd(rng));
    return v;
}

TEST(ToplocPoly, InterpolationPassesThroughEveryPoint) {
    std::mt19937 rng(7);
    std::set<uint32_t> xs;
    while (xs.size() < 128) xs.insert(rng() % kToplocPrime);
    std::vector<uint32_t> x(xs.begin(), xs.end()), y;
    for (size_t i = 0; i < x.size(); ++i) y.push_back(rng() % 65536);
    const std::vector<uint16_t> c = toploc_interpolate(x, y);
    ASSERT_EQ(c.size(), 128u);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(toploc_evaluate(c, x[i]), y[i] % kToplocPrime) << i;
}

TEST(ToplocPoly, InterpolationOfALineAndAConstant) {
    // y = 3 + 5x through x = 1, 2: coefficients (3, 5); one point: the constant.
    const std::vector<uint32_t> x = {1, 2}, y = {8, 13};
    EXPECT_EQ(toploc_interpolate(x, y), (std::vector<uint16_t>{3, 5}));
    const std::vector<uint32_t> x1 = {9}, y1 = {65500};
    EXPECT_EQ(toploc_interpolate(x1, y1), (std::vector<uint16_t>{3}));  // 65500 mod 65497
    const std::vector<uint32_t> dup = {4, 4 + kToplocPrime}, yy = {1, 2};
    EXPECT_THROW(toploc_interpolate(dup, yy), std::invalid_argument);
}

TEST(ToplocPoly, EvaluationReducesTheArgument) {
    const std::vector<uint16_t> c = {1, 2, 3};  // 1 + 2x + 3x^2
    EXPECT_EQ(toploc_evaluate(c, 10), 321u);
    EXPECT_EQ(toploc_evaluate(c, 10 + kToplocPrime), 321u);
}

TEST(ToplocPoly, InjectiveModulusCountsDownFromThePrime) {
    const std::vector<int64_t> small = {0, 5, 65496};
    EXPECT_EQ(toploc_injective_modulus(small), 65497u);
    const std::vector<int64_t> collide = {3, 3 + 65497};  // equal mod 65497, distinct mod 65496
    EXPECT_EQ(toploc_injective_modulus(collide), 65496u);
    const std::vector<int64_t> one = {123456};
    EXPECT_EQ(toploc_injective_modulus(one), 65497u);
}

TEST(ToplocPoly, TopkTakesTheLargestMagnitudesNanFirst) {
    std::vector<uint16_t> v = {bf16_from_float(0.5f), bf16_from_float(-4.0f), bf16_from_float(2.0f),
                               bf16_from_float(-1.0f), bf16_from_float(3.0f)};
    std::vector<int64_t> idx = toploc_topk(v, 2);
    std::sort(idx.begin(), idx.end());
    EXPECT_EQ(idx, (std::vector<int64_t>{1, 4}));
    v[0] = 0x7FC0;  // NaN ranks above everything, as torch's topk
    idx = toploc_topk(v, 1);
    EXPECT_EQ(idx, (std::vector<int64_t>{0}));
    EXPECT_THROW(toploc_topk(v, 6), std::invalid_argument);
    EXPECT_THROW(toploc_topk(v, 0), std::invalid_argument);
}

TEST(ToplocPoly, Base64RoundTripsAndIsStrict) {
    auto enc = [](const std::string &s) {
        return base64_encode(std::span(reinterpret_cast<const uint8_t *>(s.data()), s.size()));
    };
    EXPECT_EQ(enc(""), "");
    EXPECT_EQ(enc("f"), "Zg==");
    EXPECT_EQ(enc("fo"), "Zm8=");
    EXPECT_EQ(enc("foo"), "Zm9v");
    EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
    const std::vector<uint8_t> fo = {'f', 'o'};
    EXPECT_EQ(base64_decode("Zm8="), fo);
    EXPECT_THROW(base64_decode("Zm8"), std::invalid_argument);       // length
    EXPECT_THROW(base64_decode("Zm*="), std::invalid_argument);      // alphabet
    EXPECT_THROW(base64_decode("Z=8="), std::invalid_argument);      // padding inside
    EXPECT_THROW(base64_decode("Zg==Zg=="), std::invalid_argument);  // padding before the end
    try {
        base64_decode("Zm9v!m9v");
        FAIL();
    } catch (const std::invalid_argument &e) {
        EXPECT_STREQ(e.what(), "invalid base64 character '!' at offset 4");
    }
}

TEST(ToplocPoly, ParsingRejectsWhatThePackageWouldCrashOn) {
    const ToplocProof good{65497, {1, 2, 3, 4}};
    const std::vector<uint8_t> b = toploc_proof_bytes(good);
    ASSERT_EQ(b.size(), 10u);
    EXPECT_EQ(b[0], 0xFF);
    EXPECT_EQ(b[1], 0xD9);
    EXPECT_EQ(toploc_proof_parse(b, 4).coeffs, good.coeffs);
    auto message = [](std::vector<uint8_t> bytes, int32_t k) {
        try {
            toploc_proof_parse(bytes, k);
        } catch (const std::invalid_argument &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(message(b, 5), "a proof for top-k 5 has 12 bytes, this one has 10");
    EXPECT_EQ(message(std::vector<uint8_t>(b.begin(), b.end() - 1), 4),
              "a proof for top-k 4 has 10 bytes, this one has 9");
    std::vector<uint8_t> null(10, 0);
    EXPECT_EQ(message(null, 4), "modulus 0: a null proof (the prover failed to build one)");
    std::vector<uint8_t> big = b;
    big[1] = 0xDA;  // 65498
    EXPECT_EQ(message(big, 4), "modulus 65498 is above 65497");
    std::vector<uint8_t> coeff = b;
    coeff[8] = 0xFF, coeff[9] = 0xD9;
    EXPECT_EQ(message(coeff, 4), "coefficient 3 is 65497, not below 65497");
}

TEST(ToplocPoly, HonestChunkVerifiesPerfectlyAndAnotherDoesNot) {
    const std::vector<uint16_t> chunk = gaussian_bf16(1, 32 * 576);
    const ToplocProof p = toploc_proof_build(chunk, 128);
    EXPECT_EQ(p.modulus, 65497);  // 18432 values: every index is below the prime
    const ToplocResult same = toploc_proof_verify(p, chunk, 128);
    EXPECT_EQ(same.exp_mismatches, 0);
    EXPECT_EQ(same.mant_err_mean, 0.0);
    EXPECT_EQ(same.mant_err_median, 0.0);
    const ToplocResult other = toploc_proof_verify(p, gaussian_bf16(2, 32 * 576), 128);
    EXPECT_GT(other.exp_mismatches, 100);  // another chunk's top-k indices are mostly not in the proof
    ToplocThresholds t;
    EXPECT_TRUE(t.pass(same));
    EXPECT_FALSE(t.pass(other));
}

TEST(ToplocPoly, NoExponentMatchGivesTheSentinel) {
    // One value, proven as 1.0 (exponent 127); the verifier holds 4.0 (exponent 129).
    const std::vector<uint16_t> prover = {bf16_from_float(1.0f)}, verifier = {bf16_from_float(4.0f)};
    const ToplocProof p = toploc_proof_build(prover, 1);
    const ToplocResult r = toploc_proof_verify(p, verifier, 1);
    EXPECT_EQ(r.exp_mismatches, 1);
    EXPECT_EQ(r.mant_err_mean, std::ldexp(1.0, 64));
    EXPECT_EQ(r.mant_err_median, std::ldexp(1.0, 64));
}

TEST(ToplocPoly, MedianIsUpperOnTheCppPathAndAveragedOnThePythonPath) {
    // Four values with mantissa errors 0, 1, 2, 3 (same exponents): C++ median sorted[2] = 2, Python 1.5.
    const std::vector<uint16_t> prover = {0x3F80, 0x4000, 0x4080, 0x4100};  // 1, 2, 4, 8
    const std::vector<uint16_t> verifier = {0x3F80, 0x4001, 0x4082, 0x4103};
    const ToplocProof p = toploc_proof_build(prover, 4);
    const ToplocResult cpp = toploc_proof_verify(p, verifier, 4, ToplocSemantics::cpp);
    const ToplocResult py = toploc_proof_verify(p, verifier, 4, ToplocSemantics::python);
    EXPECT_EQ(cpp.exp_mismatches, 0);
    EXPECT_EQ(cpp.mant_err_mean, 1.5);
    EXPECT_EQ(cpp.mant_err_median, 2.0);
    EXPECT_EQ(py.mant_err_median, 1.5);
}

TEST(ToplocPoly, ChunkingFollowsThePackage) {
    std::vector<std::vector<uint16_t>> a = {{1, 2, 3, 4}, {5}, {6}, {7}, {8}, {9}};
    const auto with_prefill = toploc_chunks(a, 2, false);
    ASSERT_EQ(with_prefill.size(), 4u);  // prefill, then [5 6], [7 8], [9]
    EXPECT_EQ(with_prefill[0], (std::vector<uint16_t>{1, 2, 3, 4}));
    EXPECT_EQ(with_prefill[3], (std::vector<uint16_t>{9}));
    EXPECT_EQ(toploc_chunk_count(6, 2, false), 4u);
    const auto decode = toploc_chunks(a, 4, true);
    ASSERT_EQ(decode.size(), 2u);
    EXPECT_EQ(decode[1], (std::vector<uint16_t>{8, 9}));
    EXPECT_EQ(toploc_chunk_count(6, 4, true), 2u);
    EXPECT_EQ(toploc_chunk_count(0, 4, true), 0u);
}

}  // namespace
}  // namespace difr
