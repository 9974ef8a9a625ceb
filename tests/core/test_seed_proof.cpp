// Seed proofs: byte layouts against digests computed outside difr (commands in the comments), CPython's
// float repr, and the decimal pipeline's hand-checkable cases (the conformance test compares it with the
// contract's Python reference on many more).
#include <gtest/gtest.h>

#include "difr/error.h"
#include "difr/seed_proof.h"

namespace difr {
namespace {

TEST(SeedProof, ChainBoundSeedLayout) {
    // printf 'gonka-deterministic-sampling-v1\nuser_seed_len=2\n42\ninference_id_len=9\ninf-abc-1' |
    // sha256sum
    EXPECT_EQ(seed_chain_bound(42, "inf-abc-1"),
              "f0c1fc85de56f6264e25820f6e2873af4a1854eb90cefc479b6654534b150e45");
    // printf '...\nuser_seed_len=20\n-9223372036854775808\ninference_id_len=1\nx' | sha256sum
    EXPECT_EQ(seed_chain_bound(INT64_MIN, "x"),
              "ace100ea5b4c2ba0b1aeff11ea2019565c516b7599c31e4f3d6e2471733c20a9");
    EXPECT_THROW(seed_chain_bound(1, ""), InputError);
    EXPECT_THROW(seed_chain_bound(1, "has space"), InputError);
    EXPECT_THROW(seed_chain_bound(1, std::string(257, 'a')), InputError);
    EXPECT_EQ(seed_position("abc", 12), "abc|12");
}

TEST(SeedProof, UniformRunSeedLayout) {
    // python3 -c "import hashlib,struct;
    // print(hashlib.sha256(struct.pack('>q',42)+b'478e1c3c-0000-4000-8000-000000000001').hexdigest())"
    EXPECT_EQ(seed_uniform_run_seed(42, "478e1c3c-0000-4000-8000-000000000001"),
              "64783f39f245d75378dfbf062d3ba5cd8464137b40a0b0d9272160c9479039ec");
    EXPECT_EQ(seed_uniform_run_seed(-1, "478e1c3c-0000-4000-8000-000000000001"),
              "343f8ca13516ab13c77f10f1de064fcf8a0c67d5f99e2f6399506f84db36bc1a");
    EXPECT_THROW(seed_uniform_run_seed(1, "478E1C3C-0000-4000-8000-000000000001"), InputError);
    EXPECT_THROW(seed_uniform_run_seed(1, "not-a-uuid"), InputError);
}

TEST(SeedProof, PythonFloatRepr) {
    // python3 -c "print(repr(-0.05), repr(float.fromhex('-0x1.99999ap-5')), ...)"
    EXPECT_EQ(python_float_repr(-0.05), "-0.05");
    EXPECT_EQ(python_float_repr((double)-0.05f), "-0.05000000074505806");
    EXPECT_EQ(python_float_repr(1e-5), "1e-05");
    EXPECT_EQ(python_float_repr(-1.5e-7), "-1.5e-07");
    EXPECT_EQ(python_float_repr(1e16), "1e+16");
    EXPECT_EQ(python_float_repr(123456789012345678.0), "1.2345678901234568e+17");
    EXPECT_EQ(python_float_repr(-3.0), "-3.0");
    EXPECT_EQ(python_float_repr(0.1), "0.1");
    EXPECT_EQ(python_float_repr(2.5e-4), "0.00025");
    EXPECT_EQ(python_float_repr(-9999.0), "-9999.0");
    EXPECT_EQ(python_float_repr(1e22), "1e+22");
    EXPECT_EQ(python_float_repr(5e-324), "5e-324");
    EXPECT_EQ(python_float_repr(-0.0), "-0.0");
}

TEST(SeedProof, WeightsByHand) {
    // Two equal logprobs: probabilities 0.5 each, weights 32768 each.
    DetsampleParams p;
    p.temperature = "1.0";
    auto w = detsample_weights({{"7", "-0.5"}, {"10", "-0.5"}}, p);
    EXPECT_EQ(w.at("7"), 32768);
    EXPECT_EQ(w.at("10"), 32768);
    // Three equal: 1/3 rounds to 0.3333333333, * 65536 = 21845.33333 -> 21845 each; the residual 1 goes to
    // the largest (weight, id string): "9" > "10" > "11" as strings.
    w = detsample_weights({{"9", "-1"}, {"10", "-1"}, {"11", "-1"}}, p);
    EXPECT_EQ(w.at("9"), 21846);
    EXPECT_EQ(w.at("10"), 21845);
    EXPECT_EQ(w.at("11"), 21845);
    // top_k 1 keeps the most likely; top_p keeps the token that crosses it.
    p.top_k = 1;
    w = detsample_weights({{"1", "-0.1"}, {"2", "-3"}}, p);
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.at("1"), 65536);
    p.top_k.reset();
    p.top_p = "0.5";
    w = detsample_weights({{"1", "-0.1"}, {"2", "-3"}}, p);
    EXPECT_EQ(w.size(), 1u);
    EXPECT_THROW(detsample_weights({{"1", "NaN"}}, p), InputError);
    EXPECT_THROW(detsample_weights({{"1", "-1"}}, DetsampleParams{"0", {}, {}, {}}), InputError);
    EXPECT_THROW(detsample_weights({}, p), InputError);
    // A temperature longer than the division takes was a std::logic_error (found by fuzz_detsample).
    try {
        detsample_weights({{"1", "-0.5"}, {"2", "-1.5"}},
                          DetsampleParams{"0797907114028460609436", {}, {}, {}});
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(
            std::string(e.what()).find("temperature 0797907114028460609436 has more than 20 significant"),
            std::string::npos)
            << e.what();
    }
    EXPECT_EQ(
        detsample_weights({{"1", "-0.5"}}, DetsampleParams{"0.12345678901234567890", {}, {}, {}}).at("1"),
        65536);  // 20 digits: still taken
}

TEST(SeedProof, CategoricalDraw) {
    Sha256CounterRng rng("reference_seed_v1");
    // The first draw 4286832458236889005 mod 65536 = 1965 (65536 divides 2^64: no rejection).
    const std::vector<int64_t> w = {1965, 1, 65536 - 1966};
    EXPECT_EQ(seed_sample_weights(w, rng), 1u);
    EXPECT_THROW(seed_sample_weights(std::vector<int64_t>{0, 0}, rng), std::invalid_argument);
    EXPECT_THROW(seed_sample_weights(std::vector<int64_t>{1, -1}, rng), std::invalid_argument);
}

}  // namespace
}  // namespace difr
