#include "difr/noise.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>

#include "difr/philox.h"

namespace difr {

std::string_view noise_profile_name(NoiseProfile profile) {
    switch (profile) {
        case NoiseProfile::vllm:
            return "vllm";
        case NoiseProfile::vllm_fp64:
            return "vllm-fp64";
        case NoiseProfile::vllm_0_30:
            return "vllm-0.30";
        case NoiseProfile::vllm_0_30_fp64:
            return "vllm-0.30-fp64";
        case NoiseProfile::vllm_0_22:
            return "vllm-0.22";
        case NoiseProfile::sglang:
            return "sglang";
        case NoiseProfile::torch_cpu:
            return "torch-cpu";
        case NoiseProfile::llama_cpp:
            return "llama.cpp";
    }
    return "?";
}

std::optional<NoiseProfile> noise_profile_from_name(std::string_view name) {
    for (NoiseProfile p : kNoiseProfiles)
        if (name == noise_profile_name(p)) return p;
    // The releases a profile covers, by number (0.31-0.33 share one gumbel.py noise path).
    if (name == "vllm-0.31" || name == "vllm-0.32" || name == "vllm-0.33") return NoiseProfile::vllm;
    if (name == "vllm-0.31-fp64" || name == "vllm-0.32-fp64" || name == "vllm-0.33-fp64")
        return NoiseProfile::vllm_fp64;
    return std::nullopt;
}

std::string_view noise_profile_covers(NoiseProfile profile) {
    switch (profile) {
        case NoiseProfile::vllm:
            return "vLLM 0.31-0.33, Model Runner V2 Gumbel sampler (murmur3, fp32)";
        case NoiseProfile::vllm_fp64:
            return "vLLM 0.31-0.33 with --use-fp64-gumbel (murmur3, fp64)";
        case NoiseProfile::vllm_0_30:
            return "vLLM 0.24-0.30, Model Runner V2 Gumbel sampler (Philox, fp32)";
        case NoiseProfile::vllm_0_30_fp64:
            return "vLLM 0.22-0.30 with --use-fp64-gumbel (Philox, fp64)";
        case NoiseProfile::vllm_0_22:
            return "vLLM 0.22-0.23, Model Runner V2 Gumbel sampler (Philox, fp32, -log(-log u))";
        case NoiseProfile::sglang:
            return "SGLang 0.5.23 --enable-deterministic-inference (multinomial_with_seed, murmur3, fp64)";
        case NoiseProfile::torch_cpu:
            return "token-difr 0.1.2 CPU verification, HF transformers on the CPU (torch exponential_)";
        case NoiseProfile::llama_cpp:
            return "llama.cpp dist sampler (llama-server, llama-cli)";
    }
    return "?";
}

std::string noise_profile_names() {
    std::string out;
    for (NoiseProfile p : kNoiseProfiles)
        out += (out.empty() ? "" : ", ") + std::string(noise_profile_name(p));
    return out;
}

bool noise_profile_counter_based(NoiseProfile profile) {
    return profile != NoiseProfile::torch_cpu && profile != NoiseProfile::llama_cpp;
}

namespace {
// Triton's uint_to_uniform_float scale for 32-bit words, (1 - 2^-24) 2^-31: the smallest nonzero draw, which
// is also vLLM's clamp floor (its _TL_RAND_MIN).
constexpr float kTritonRandScale = 4.6566127342e-10f;

philox4x32_ctr vllm_philox_block(uint64_t key, int32_t token) {
    return philox4x32_10({uint32_t(token), 0, 0, 0}, {uint32_t(key), uint32_t(key >> 32)});
}

// Triton's uint_to_uniform_float: the bits as int32, negatives folded onto [0, 2^31), times a scale just
// below 2^-31 so that the largest value stays below 1 after float rounding.
float triton_uniform(uint32_t r) {
    int32_t x = int32_t(r);
    if (x < 0) x = ~x;  // = -x - 1 in two's complement (as Triton wraps), without C++'s overflow at INT32_MIN
    return float(x) * kTritonRandScale;
}

double philox_uniform64(const philox4x32_ctr &block) {
    const uint64_t r = (uint64_t(block[1]) << 32) | block[0];
    return std::max(double(r) * 0x1p-64, DBL_MIN);
}
}  // namespace

uint64_t vllm_noise_key(uint64_t seed, int64_t pos) {
    // Triton's randint4x casts the int64 offset to (lo32, hi32) counter words, and philox() then picks the
    // 32-bit generator from the counter's width, keyed by the seed's two halves.
    const uint64_t p = uint64_t(pos);
    return philox4x32_10({uint32_t(p), uint32_t(p >> 32), 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)})[0];
}

float vllm_noise_uniform(uint64_t key, int32_t token) {
    return triton_uniform(vllm_philox_block(key, token)[0]);
}

double vllm_noise_uniform64(uint64_t key, int32_t token) {
    return philox_uniform64(vllm_philox_block(key, token));
}

float vllm_noise_gumbel(uint64_t key, int32_t token, NoiseProfile profile) {
    const float u = vllm_noise_uniform(key, token);
    // Both releases clamp only u = 0 (rand's next value is the scale itself), but to different floors:
    // 0.22-0.23 to FLT_MIN (their _FP32_TINY = 2^-126), later releases to the smallest nonzero draw.
    if (profile == NoiseProfile::vllm_0_22) return -std::log(-std::log(std::max(u, 0x1p-126f)));
    return -std::log(-std::log1p(-std::max(u, kTritonRandScale)));
}

NoiseSample noise_sample(NoiseProfile profile, uint64_t seed, int64_t pos, uint32_t column) {
    NoiseSample s;
    switch (profile) {
        case NoiseProfile::vllm: {
            const uint32_t h = murmur3_noise_hash(seed, pos, column);
            s.words = {{"hash", h}};
            s.u = vllm_murmur3_uniform(h);
            s.gumbel = vllm_murmur3_gumbel(h);
            return s;
        }
        case NoiseProfile::vllm_fp64: {
            const uint32_t lo = murmur3_noise_hash(seed, pos, column);
            const uint32_t hi = murmur3_noise_hash(seed, pos, column, kMurmur3Fp64Domain);
            s.words = {{"hash", lo}, {"hash_hi", hi}};
            s.u = vllm_murmur3_uniform64(lo, hi);
            s.gumbel = -std::log(-std::log(s.u));
            s.fp64 = true;
            return s;
        }
        case NoiseProfile::sglang: {
            const uint32_t h = murmur3_noise_hash(seed, pos, column);
            s.words = {{"hash", h}};
            s.u = sglang_uniform(h);
            s.gumbel = sglang_gumbel(h);
            s.fp64 = true;
            return s;
        }
        case NoiseProfile::vllm_0_30:
        case NoiseProfile::vllm_0_22: {
            const uint64_t key = vllm_noise_key(seed, pos);
            s.words = {{"key", uint32_t(key)}, {"philox", vllm_philox_block(key, int32_t(column))[0]}};
            s.u = vllm_noise_uniform(key, int32_t(column));
            s.gumbel = vllm_noise_gumbel(key, int32_t(column), profile);
            return s;
        }
        case NoiseProfile::vllm_0_30_fp64: {
            const uint64_t key = vllm_noise_key(seed, pos);
            const philox4x32_ctr block = vllm_philox_block(key, int32_t(column));
            s.words = {{"key", uint32_t(key)}, {"philox", block[0]}, {"philox_hi", block[1]}};
            s.u = philox_uniform64(block);
            s.gumbel = -std::log(-std::log(s.u));
            s.fp64 = true;
            return s;
        }
        case NoiseProfile::torch_cpu:
        case NoiseProfile::llama_cpp:
            break;
    }
    throw std::invalid_argument("the " + std::string(noise_profile_name(profile)) +
                                " profile is not counter-based: its noise depends on every earlier draw, not "
                                "on (seed, position, token) alone");
}

namespace {

// The Philox era: one key per row (tl.randint(seed, pos)), then one Philox block per token.
class PhiloxNoiseStream final : public NoiseStream {
public:
    PhiloxNoiseStream(NoiseProfile profile, uint64_t seed) : profile_(profile), seed_(seed) {}
    void seek(int64_t pos) override { key_ = vllm_noise_key(seed_, pos); }
    float gumbel(int32_t token) const override {
        if (profile_ == NoiseProfile::vllm_0_30_fp64) return float(gumbel64(token));
        return vllm_noise_gumbel(key_, token, profile_);
    }
    bool fp64() const override { return profile_ == NoiseProfile::vllm_0_30_fp64; }
    double gumbel64(int32_t token) const override {
        if (profile_ != NoiseProfile::vllm_0_30_fp64) return gumbel(token);
        return -std::log(-std::log(vllm_noise_uniform64(key_, token)));
    }

private:
    NoiseProfile profile_;
    uint64_t seed_;
    uint64_t key_ = 0;
};

}  // namespace

std::unique_ptr<NoiseStream> torch_cpu_noise_stream_make(uint64_t seed, int32_t n_vocab);  // noise_torch.cpp
std::unique_ptr<NoiseStream> murmur3_noise_stream_make(NoiseProfile profile,
                                                       uint64_t seed);  // noise_murmur3.cpp

std::unique_ptr<NoiseStream> noise_stream_make(NoiseProfile profile, uint64_t seed, int32_t n_vocab) {
    switch (profile) {
        case NoiseProfile::torch_cpu:
            return torch_cpu_noise_stream_make(seed, n_vocab);
        case NoiseProfile::llama_cpp:
            throw std::invalid_argument(
                "the llama.cpp profile samples by inverse CDF and has no Gumbel noise stream");
        case NoiseProfile::vllm:
        case NoiseProfile::vllm_fp64:
        case NoiseProfile::sglang:
            return murmur3_noise_stream_make(profile, seed);
        case NoiseProfile::vllm_0_30:
        case NoiseProfile::vllm_0_30_fp64:
        case NoiseProfile::vllm_0_22:
            break;
    }
    return std::make_unique<PhiloxNoiseStream>(profile, seed);
}

}  // namespace difr
