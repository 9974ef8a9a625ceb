#include "quant_gemm.h"

#include <ggml-cpu.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define DIFR_QUANT_GEMM 1
#else
#define DIFR_QUANT_GEMM 0
#endif

namespace difr {

namespace {

// ggml's block layouts (ggml-common.h), checked against ggml_type_size below.
struct BlockQ4_1 {
    uint16_t d, m;   // f16 scale and minimum
    uint8_t qs[16];  // 32 nibbles: values 0-15 in the low nibbles, 16-31 in the high ones
};
struct BlockQ8_1 {
    uint16_t d, s;  // f16 scale and d * sum(qs)
    int8_t qs[32];
};
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[32];
};
static_assert(sizeof(BlockQ4_1) == 20 && sizeof(BlockQ8_1) == 36 && sizeof(BlockQ8_0) == 34);

// A tile: 4 activation rows by 2 weight rows, 8 accumulators. Measured on the development machine (Zen 5,
// one thread, SmolLM2's shapes, 64 activation rows) in GMAC/s for Q4_1 / Q8_0: 4x2 56 / 55, 3x2 54 / 53,
// 4x1 56 / 54, 6x1 55 / 55, 2x3 51 / 49; ggml's vec_dot 34 / 40.
constexpr int kTileTokens = 4;        // activation rows per tile
constexpr int kTileWeights = 2;       // weight rows per tile
constexpr int64_t kWeightBlock = 16;  // weight rows kept in L1 while every activation tile passes over them

#if DIFR_QUANT_GEMM

float f16_to_f32(uint16_t h) {
    return _cvtsh_ss(h);
}

// ggml's horizontal sum of eight lanes (hsum_float_8): ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
float lanes_sum(__m256 x) {
    __m128 r = _mm256_extractf128_ps(x, 1);
    r = _mm_add_ps(r, _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// Lane j: the sum of the products of bytes 4j..4j+3 (unsigned by signed), an exact integer, as a float.
__m256 dot4(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(u, s)));
}

// Q4_1 weights by Q8_1 activations, as ggml_vec_dot_q4_1_q8_1: over the blocks in order, lanes += (d_w * d_a)
// * dot4(w, a), fused; the result is lanes_sum + mins, where mins[t * kWeightBlock + r] (the blocks' fma(m_w,
// s_a, .), summed in the same order) come from q4_1_mins.
template <int R, int T>
void tile_q4_1(const uint8_t *w, size_t w_stride, const uint8_t *const *a, const float *const *ad,
               const float *mins, int64_t nb, float *c, size_t c_stride) {
    __m256 acc[T][R];
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) acc[t][r] = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; ++b) {
        __m256i qx[R];
        __m256 dx[R];
        for (int r = 0; r < R; ++r) {
            const BlockQ4_1 &x = reinterpret_cast<const BlockQ4_1 *>(w + r * w_stride)[b];
            dx[r] = _mm256_set1_ps(f16_to_f32(x.d));
            const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x.qs));
            qx[r] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), low);
        }
        for (int t = 0; t < T; ++t) {
            const BlockQ8_1 &y = reinterpret_cast<const BlockQ8_1 *>(a[t])[b];
            const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(y.qs));
            const __m256 dy = _mm256_broadcast_ss(ad[t] + b);
            for (int r = 0; r < R; ++r)
                acc[t][r] = _mm256_fmadd_ps(_mm256_mul_ps(dx[r], dy), dot4(qx[r], qy), acc[t][r]);
        }
    }
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) c[t * c_stride + r] = lanes_sum(acc[t][r]) + mins[t * kWeightBlock + r];
}

// N activation rows' min terms for the kWeightBlock weight rows whose minimums mT holds (below).
template <int N>
void q4_1_mins_rows(const float *mT, const float *s, int64_t nb, float *mins) {
    __m256 acc[N][2];
    for (int i = 0; i < N; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const __m256 m0 = _mm256_loadu_ps(mT + b * kWeightBlock),
                     m1 = _mm256_loadu_ps(mT + b * kWeightBlock + 8);
        for (int i = 0; i < N; ++i) {
            const __m256 sb = _mm256_broadcast_ss(s + i * nb + b);
            acc[i][0] = _mm256_fmadd_ps(m0, sb, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(m1, sb, acc[i][1]);
        }
    }
    for (int i = 0; i < N; ++i) {
        _mm256_storeu_ps(mins + i * kWeightBlock, acc[i][0]);
        _mm256_storeu_ps(mins + i * kWeightBlock + 8, acc[i][1]);
    }
}

// The Q4_1 min terms of a block of up to kWeightBlock weight rows for activation rows [0, n_t): mins[t *
// kWeightBlock + r] = the sum over the blocks of fma(m_w, s_a, .) in block order, as ggml sums them, eight
// weight rows to a vector and four activation rows at a time (eight independent chains of fused
// multiply-adds). s holds the activations' s as [row][block]; mT is scratch for the weights' minimums as
// [block][row].
void q4_1_mins(const uint8_t *w, size_t w_stride, int64_t rows, const float *s, int64_t nb, int64_t n_t,
               float *mT, float *mins) {
    static_assert(kWeightBlock == 16);
    for (int64_t r = 0; r < kWeightBlock; ++r) {
        const BlockQ4_1 *x = reinterpret_cast<const BlockQ4_1 *>(w + r * w_stride);
        for (int64_t b = 0; b < nb; ++b) mT[b * kWeightBlock + r] = r < rows ? f16_to_f32(x[b].m) : 0.0f;
    }
    for (int64_t t = 0; t < n_t; t += 4) {
        switch (std::min<int64_t>(4, n_t - t)) {
            case 1:
                q4_1_mins_rows<1>(mT, s + t * nb, nb, mins + t * kWeightBlock);
                break;
            case 2:
                q4_1_mins_rows<2>(mT, s + t * nb, nb, mins + t * kWeightBlock);
                break;
            case 3:
                q4_1_mins_rows<3>(mT, s + t * nb, nb, mins + t * kWeightBlock);
                break;
            default:
                q4_1_mins_rows<4>(mT, s + t * nb, nb, mins + t * kWeightBlock);
                break;
        }
    }
}

// Q8_0 weights by Q8_0 activations, as ggml_vec_dot_q8_0_q8_0: lanes += (d_w * d_a) * dot4(|w|, a * sign(w)).
template <int R, int T>
void tile_q8_0(const uint8_t *w, size_t w_stride, const uint8_t *const *a, const float *const *ad,
               const float *, int64_t nb, float *c, size_t c_stride) {
    __m256 acc[T][R];
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) acc[t][r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i qx[R], ax[R];
        __m256 dx[R];
        for (int r = 0; r < R; ++r) {
            const BlockQ8_0 &x = reinterpret_cast<const BlockQ8_0 *>(w + r * w_stride)[b];
            dx[r] = _mm256_set1_ps(f16_to_f32(x.d));
            qx[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(x.qs));
            ax[r] = _mm256_sign_epi8(qx[r], qx[r]);
        }
        for (int t = 0; t < T; ++t) {
            const BlockQ8_0 &y = reinterpret_cast<const BlockQ8_0 *>(a[t])[b];
            const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(y.qs));
            const __m256 dy = _mm256_broadcast_ss(ad[t] + b);
            for (int r = 0; r < R; ++r)
                acc[t][r] = _mm256_fmadd_ps(_mm256_mul_ps(dx[r], dy),
                                            dot4(ax[r], _mm256_sign_epi8(qy, qx[r])), acc[t][r]);
        }
    }
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) c[t * c_stride + r] = lanes_sum(acc[t][r]);
}

using TileFn = void (*)(const uint8_t *, size_t, const uint8_t *const *, const float *const *, const float *,
                        int64_t, float *, size_t);

// The tile function for r weight rows and t activation rows (r <= kTileWeights, t <= kTileTokens).
template <int R, int T>
TileFn tile_pick_tokens(bool q4, int t) {
    if constexpr (T == 0)
        return nullptr;
    else
        return t == T ? (q4 ? tile_q4_1<R, T> : tile_q8_0<R, T>) : tile_pick_tokens<R, T - 1>(q4, t);
}

template <int R>
TileFn tile_pick(bool q4, int r, int t) {
    if constexpr (R == 0)
        return nullptr;
    else
        return r == R ? tile_pick_tokens<R, kTileTokens>(q4, t) : tile_pick<R - 1>(q4, r, t);
}

#endif  // DIFR_QUANT_GEMM

}  // namespace

bool quant_gemm_supports(ggml_type type) {
    return DIFR_QUANT_GEMM && (type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q8_0);
}

void quant_gemm_run(const QuantGemm &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#if DIFR_QUANT_GEMM
    if (r0 >= r1 || t0 >= t1) return;
    const int64_t nb = g.k / 32;
    const bool q4 = g.type == GGML_TYPE_Q4_1;
    const size_t a_block = q4 ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
    // The activations' scales as floats, once per call rather than once per weight row: d, and for Q8_1 s
    // (d * the sum of the values), both as [row][block].
    thread_local std::vector<float> scales;
    const int64_t n_t = t1 - t0;
    scales.resize((size_t)((2 * n_t + kWeightBlock) * nb + n_t * kWeightBlock));
    float *ad = scales.data(), *as = ad + n_t * nb, *mT = as + n_t * nb, *mins = mT + kWeightBlock * nb;
    for (int64_t t = 0; t < n_t; ++t) {
        const uint8_t *row = g.a + (t0 + t) * g.a_stride;
        for (int64_t b = 0; b < nb; ++b) {
            uint16_t h[2];
            std::memcpy(h, row + b * a_block, q4 ? 4 : 2);
            ad[t * nb + b] = f16_to_f32(h[0]);
            if (q4) as[t * nb + b] = f16_to_f32(h[1]);
        }
    }
    for (int64_t rb = r0; rb < r1; rb += kWeightBlock) {
        const int64_t rb_end = std::min(rb + kWeightBlock, r1);
        if (q4) q4_1_mins(g.w + rb * g.w_stride, g.w_stride, rb_end - rb, as, nb, n_t, mT, mins);
        for (int64_t t = t0; t < t1; t += kTileTokens) {
            const int T = (int)std::min<int64_t>(kTileTokens, t1 - t);
            const uint8_t *a[kTileTokens];
            const float *tad[kTileTokens];
            for (int i = 0; i < T; ++i) {
                a[i] = g.a + (t + i) * g.a_stride;
                tad[i] = ad + (t - t0 + i) * nb;
            }
            const TileFn full = tile_pick<kTileWeights>(q4, kTileWeights, T);
            for (int64_t r = rb; r < rb_end; r += kTileWeights) {
                const int R = (int)std::min<int64_t>(kTileWeights, rb_end - r);
                (R == kTileWeights ? full : tile_pick<kTileWeights>(q4, R, T))(
                    g.w + r * g.w_stride, g.w_stride, a, tad, mins + (t - t0) * kWeightBlock + (r - rb), nb,
                    g.c + t * g.c_stride + r, g.c_stride);
            }
        }
    }
#else
    (void)g, (void)r0, (void)r1, (void)t0, (void)t1;
#endif
}

bool quant_gemm_self_check() {
    static const bool ok = [] {
        if (!DIFR_QUANT_GEMM) return false;
        ggml_cpu_init();  // ggml's f16 tables, which its vec_dot reads
        std::mt19937 rng(20240611);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (ggml_type type : {GGML_TYPE_Q4_1, GGML_TYPE_Q8_0}) {
            const ggml_type_traits_cpu *traits = ggml_get_type_traits_cpu(type);
            const ggml_type act_type = traits->vec_dot_type;
            const ggml_from_float_t quantize_act = ggml_get_type_traits_cpu(act_type)->from_float;
            if (ggml_type_size(type) != (type == GGML_TYPE_Q4_1 ? sizeof(BlockQ4_1) : sizeof(BlockQ8_0)) ||
                ggml_type_size(act_type) != (type == GGML_TYPE_Q4_1 ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0)))
                return false;
            // Shapes that take every tile: 37 weight rows (blocks of 16, pairs and a single at the end), 11
            // activation rows in calls of 7 (tiles of 4 and 3), 2 and 1, and weight ranges that start
            // mid-way.
            const int64_t k = 96, n_w = 37, n_t = 11;
            std::vector<float> wf(n_w * k), af(n_t * k);
            for (float &v : wf) v = normal(rng) * 0.05f;
            for (float &v : af) v = normal(rng) * 3.0f;
            for (int64_t i = 0; i < k; i += 7) af[i] = 0.0f;  // zeros and a large value inside blocks
            af[5] = 40.0f;
            const size_t w_row = ggml_row_size(type, k), a_row = ggml_row_size(act_type, k);
            std::vector<uint8_t> w(w_row * n_w), a(a_row * n_t);
            ggml_quantize_chunk(type, wf.data(), w.data(), 0, n_w, k, nullptr);
            for (int64_t t = 0; t < n_t; ++t) quantize_act(af.data() + t * k, a.data() + t * a_row, k);
            std::vector<float> c(n_t * n_w, NAN);
            const QuantGemm g{type, k, w.data(), w_row, a.data(), a_row, c.data(), (size_t)n_w};
            quant_gemm_run(g, 0, n_w, 0, 7);
            quant_gemm_run(g, 0, n_w, 7, 9);
            quant_gemm_run(g, 0, 20, 9, 10);
            quant_gemm_run(g, 20, n_w, 9, 10);
            quant_gemm_run(g, 0, n_w, 10, 11);
            for (int64_t t = 0; t < n_t; ++t)
                for (int64_t r = 0; r < n_w; ++r) {
                    float ref = 0.0f;
                    traits->vec_dot((int)k, &ref, 0, w.data() + r * w_row, 0, a.data() + t * a_row, 0, 1);
                    const float got = c[t * n_w + r];
                    if (std::memcmp(&ref, &got, sizeof ref) != 0) return false;
                }
        }
        return true;
    }();
    return ok;
}

}  // namespace difr
