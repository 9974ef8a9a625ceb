// The murmur3-keyed profiles: vLLM 0.31+ (Model Runner V2's gumbel.py, fp32 and fp64 paths) and SGLang's
// deterministic sampler (multinomial_with_seed). Both hash (seed, position, column) with the same function;
// only the way a hash becomes noise differs. See docs/semantics.md.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>

#include "difr/noise.h"

namespace difr {

namespace {

constexpr uint32_t rotl32(uint32_t x, int r) {
    return (x << r) | (x >> (32 - r));
}

// One 4-byte block of MurmurHash3_x86_32.
constexpr uint32_t murmur3_mix(uint32_t h, uint32_t k) {
    k *= 0xCC9E2D51u;
    k = rotl32(k, 15);
    k *= 0x1B873593u;
    h ^= k;
    h = rotl32(h, 13);
    return h * 5u + 0xE6546B64u;
}

constexpr uint32_t murmur3_fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
}

}  // namespace

uint32_t murmur3_noise_hash(uint64_t seed, int64_t pos, uint32_t column, uint32_t domain) {
    uint32_t h = domain;
    h = murmur3_mix(h, uint32_t(seed));
    h = murmur3_mix(h, uint32_t(seed >> 32));
    h = murmur3_mix(h, uint32_t(uint64_t(pos)));  // both engines keep only the low 32 bits
    h = murmur3_mix(h, column);
    return murmur3_fmix32(h ^ 16u);  // 16: the key's length in bytes
}

float vllm_murmur3_uniform(uint32_t hash) {
    // Split into 16-bit halves so that each converts to float exactly; both products are exact (powers of
    // two), so the one rounding is the sum's, with or without a fused multiply-add.
    const float hi16 = float(hash >> 16), lo16 = float(hash & 0xFFFFu);
    return hi16 * 1.52587890625e-05f + (lo16 + 0.5f) * 2.3283064365386963e-10f;
}

float vllm_murmur3_gumbel(uint32_t hash) {
    const float u = vllm_murmur3_uniform(hash);
    float log1m;  // vLLM's _log1p_neg_stable(u) = log(1 - u)
    if (u < 0.25f) {
        // The Python constants 1/k are float literals in Triton; each Horner step `c + u * p` is contracted
        // to one fma by Triton's default enable_fp_fusion on a GPU (the interpreter rounds twice instead).
        float p = 1.0f / 8.0f;
        for (double k : {7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0}) p = std::fma(u, p, float(1.0 / k));
        log1m = -u * p;
    } else {
        log1m = std::log(std::max(1.0f - u, 5.960464477539063e-08f));
    }
    return -std::log(-log1m);
}

double vllm_murmur3_uniform64(uint32_t lo, uint32_t hi) {
    const uint64_t r53 = ((uint64_t(hi) << 32) | lo) >> 11;
    // r53 + 0.5 needs 54 bits above 2^52 and rounds to even there; the largest value rounds to 1.0, which
    // vLLM moves one step down.
    const double u = (double(r53) + 0.5) * 0x1p-53;
    return u == 1.0 ? u - 0x1p-53 : u;
}

double sglang_uniform(uint32_t hash) {
    return double(hash) / 4294967295.0;  // torch.iinfo(torch.uint32).max
}

double sglang_gumbel(uint32_t hash) {
    const double a = std::clamp(std::log(sglang_uniform(hash)), -DBL_MAX, -0x1p-32);
    return -std::log(-a);
}

namespace {

class Murmur3NoiseStream final : public NoiseStream {
public:
    Murmur3NoiseStream(NoiseProfile profile, uint64_t seed) : profile_(profile), seed_(seed) {}
    void seek(int64_t pos) override { pos_ = pos; }
    float gumbel(int32_t column) const override {
        if (profile_ == NoiseProfile::vllm) return vllm_murmur3_gumbel(hash(column));
        return float(gumbel64(column));
    }
    bool fp64() const override { return profile_ != NoiseProfile::vllm; }
    double gumbel64(int32_t column) const override {
        if (profile_ == NoiseProfile::sglang) return sglang_gumbel(hash(column));
        if (profile_ == NoiseProfile::vllm) return vllm_murmur3_gumbel(hash(column));
        const double u = vllm_murmur3_uniform64(hash(column), hash(column, kMurmur3Fp64Domain));
        return -std::log(-std::log(u));
    }
    bool sglang_sampler() const override { return profile_ == NoiseProfile::sglang; }

private:
    uint32_t hash(int32_t column, uint32_t domain = 0) const {
        return murmur3_noise_hash(seed_, pos_, uint32_t(column), domain);
    }
    NoiseProfile profile_;
    uint64_t seed_;
    int64_t pos_ = 0;
};

}  // namespace

std::unique_ptr<NoiseStream> murmur3_noise_stream_make(NoiseProfile profile, uint64_t seed) {
    return std::make_unique<Murmur3NoiseStream>(profile, seed);
}

}  // namespace difr
