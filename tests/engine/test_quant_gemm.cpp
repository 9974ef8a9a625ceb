// difr's matrix kernels (src/engine/quant_gemm.h) against ggml's own vec_dot, element by element: they must
// give the very same bits for every shape that tiles differently (weight rows in blocks of 16 and pairs,
// activation rows in tiles of up to 4), for row lengths of the models difr meets, and for blocks that are all
// zero or hold extreme values.
#include <gtest/gtest.h>

#include <ggml-cpu.h>
#include <ggml.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../../src/engine/quant_gemm.h"

namespace difr {
namespace {

struct Mismatch {
    int64_t compared = 0, differing = 0;
};

// Quantises random weights and activations, runs quant_gemm over [r0, r1) x [t0, t1) in the given calls, and
// compares each computed element with ggml's vec_dot on the same quantised rows.
Mismatch compare(ggml_type type, int64_t k, int64_t n_w, int64_t n_t, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> wf((size_t)(n_w * k)), af((size_t)(n_t * k));
    for (float &v : wf) v = normal(rng) * 0.05f;
    for (float &v : af) v = normal(rng) * 2.0f;
    // A weight row and an activation row that are zero, a block of each that is, and a large activation.
    std::fill(wf.begin(), wf.begin() + k, 0.0f);
    if (n_t > 1) std::fill(af.begin() + k, af.begin() + 2 * k, 0.0f);
    for (int64_t i = 0; i < 32 && i < k; ++i) af[(size_t)((n_t - 1) * k + i)] = 0.0f;
    af[(size_t)(k / 2)] = 1000.0f;

    const ggml_type_traits_cpu *traits = ggml_get_type_traits_cpu(type);
    const ggml_type act_type = traits->vec_dot_type;
    const size_t w_row = ggml_row_size(type, k), a_row = ggml_row_size(act_type, k);
    std::vector<uint8_t> w(w_row * (size_t)n_w), a(a_row * (size_t)n_t);
    ggml_quantize_chunk(type, wf.data(), w.data(), 0, n_w, k, nullptr);
    for (int64_t t = 0; t < n_t; ++t)
        ggml_get_type_traits_cpu(act_type)->from_float(af.data() + t * k, a.data() + t * a_row, k);

    std::vector<float> c((size_t)(n_t * n_w), NAN);
    const QuantGemm g{type, k, w.data(), w_row, a.data(), a_row, c.data(), (size_t)n_w};
    // Two weight ranges split off a block boundary, and the activation rows in two calls.
    const int64_t r_mid = n_w / 3, t_mid = (n_t + 1) / 2;
    quant_gemm_run(g, 0, r_mid, 0, t_mid);
    quant_gemm_run(g, r_mid, n_w, 0, t_mid);
    quant_gemm_run(g, 0, n_w, t_mid, n_t);

    Mismatch m;
    for (int64_t t = 0; t < n_t; ++t)
        for (int64_t r = 0; r < n_w; ++r) {
            float ref = 0.0f;
            traits->vec_dot((int)k, &ref, 0, w.data() + r * w_row, 0, a.data() + t * a_row, 0, 1);
            const float got = c[(size_t)(t * n_w + r)];
            ++m.compared;
            m.differing += std::memcmp(&ref, &got, sizeof ref) != 0;
        }
    return m;
}

class QuantGemmTest : public ::testing::TestWithParam<ggml_type> {
protected:
    void SetUp() override {
        ggml_cpu_init();
        if (!quant_gemm_supports(GetParam()))
            GTEST_SKIP() << "this build has no difr kernels (not x86-64-v3)";
    }
};

TEST_P(QuantGemmTest, GivesGgmlsVecDotBitForBit) {
    int64_t compared = 0;
    uint32_t seed = 1;
    // Row lengths: one block, the tiny test model's, SmolLM2's hidden and feed-forward sizes.
    for (int64_t k : {32, 64, 576, 1536})
        for (int64_t n_w : {1, 2, 3, 16, 17, 35})
            for (int64_t n_t : {1, 2, 3, 4, 5, 7, 9}) {
                const Mismatch m = compare(GetParam(), k, n_w, n_t, seed++);
                EXPECT_EQ(m.differing, 0) << ggml_type_name(GetParam()) << " k " << k << ", " << n_w
                                          << " weight rows, " << n_t << " activation rows";
                compared += m.compared;
            }
    EXPECT_EQ(compared, 4 * (1 + 2 + 3 + 16 + 17 + 35) * (1 + 2 + 3 + 4 + 5 + 7 + 9));
}

TEST_P(QuantGemmTest, SelfCheckPasses) {
    EXPECT_TRUE(quant_gemm_self_check());
}

INSTANTIATE_TEST_SUITE_P(Types, QuantGemmTest, ::testing::Values(GGML_TYPE_Q4_1, GGML_TYPE_Q8_0),
                         [](const auto &info) { return std::string(ggml_type_name(info.param)); });

}  // namespace
}  // namespace difr
