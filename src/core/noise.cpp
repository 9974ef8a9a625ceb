#include "difr/noise.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "difr/philox.h"

namespace difr {

std::string_view noise_profile_name(NoiseProfile profile) {
    switch (profile) {
        case NoiseProfile::vllm:
            return "vllm";
        case NoiseProfile::vllm_0_22:
            return "vllm-0.22";
        case NoiseProfile::torch_cpu:
            return "torch-cpu";
        case NoiseProfile::llama_cpp:
            return "llama.cpp";
    }
    return "?";
}

std::optional<NoiseProfile> noise_profile_from_name(std::string_view name) {
    if (name == "vllm" || name == "vllm-0.30") return NoiseProfile::vllm;  // Philox era: vLLM 0.24-0.30
    if (name == "vllm-0.22") return NoiseProfile::vllm_0_22;
    if (name == "torch-cpu") return NoiseProfile::torch_cpu;
    if (name == "llama.cpp") return NoiseProfile::llama_cpp;
    return std::nullopt;
}

namespace {
// Triton's uint_to_uniform_float scale for 32-bit words, (1 - 2^-24) 2^-31: the smallest nonzero draw, which
// is also vLLM's clamp floor (its _TL_RAND_MIN).
constexpr float kTritonRandScale = 4.6566127342e-10f;
}  // namespace

uint64_t vllm_noise_key(uint64_t seed, int64_t pos) {
    // Triton's randint4x casts the int64 offset to (lo32, hi32) counter words, and philox() then picks the
    // 32-bit generator from the counter's width, keyed by the seed's two halves.
    const uint64_t p = uint64_t(pos);
    return philox4x32_10({uint32_t(p), uint32_t(p >> 32), 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)})[0];
}

float vllm_noise_uniform(uint64_t key, int32_t token) {
    const uint32_t r = philox4x32_10({uint32_t(token), 0, 0, 0}, {uint32_t(key), uint32_t(key >> 32)})[0];
    // Triton's uint_to_uniform_float: the bits as int32, negatives folded onto [0, 2^31), times a scale just
    // below 2^-31 so that the largest value stays below 1 after float rounding.
    int32_t x = int32_t(r);
    if (x < 0) x = ~x;  // = -x - 1 in two's complement (as Triton wraps), without C++'s overflow at INT32_MIN
    return float(x) * kTritonRandScale;
}

float vllm_noise_gumbel(uint64_t key, int32_t token, NoiseProfile profile) {
    const float u = vllm_noise_uniform(key, token);
    // Both releases clamp only u = 0 (rand's next value is the scale itself), but to different floors:
    // 0.22-0.23 to FLT_MIN (their _FP32_TINY = 2^-126), later releases to the smallest nonzero draw.
    if (profile == NoiseProfile::vllm_0_22) return -std::log(-std::log(std::max(u, 0x1p-126f)));
    return -std::log(-std::log1p(-std::max(u, kTritonRandScale)));
}

namespace {

class VllmNoiseStream final : public NoiseStream {
public:
    VllmNoiseStream(NoiseProfile profile, uint64_t seed) : profile_(profile), seed_(seed) {}
    void seek(int64_t pos) override { key_ = vllm_noise_key(seed_, pos); }
    float gumbel(int32_t token) const override { return vllm_noise_gumbel(key_, token, profile_); }

private:
    NoiseProfile profile_;
    uint64_t seed_;
    uint64_t key_ = 0;
};

}  // namespace

std::unique_ptr<NoiseStream> torch_cpu_noise_stream_make(uint64_t seed, int32_t n_vocab);  // noise_torch.cpp

std::unique_ptr<NoiseStream> noise_stream_make(NoiseProfile profile, uint64_t seed, int32_t n_vocab) {
    if (profile == NoiseProfile::torch_cpu) return torch_cpu_noise_stream_make(seed, n_vocab);
    if (profile == NoiseProfile::llama_cpp)
        throw std::invalid_argument(
            "the llama.cpp profile samples by inverse CDF and has no Gumbel noise stream");
    return std::make_unique<VllmNoiseStream>(profile, seed);
}

}  // namespace difr
