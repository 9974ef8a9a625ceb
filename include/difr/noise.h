// Noise profiles: where the randomness of a seeded sampler comes from, so that a verifier can replay it.
// A profile maps (seed, row, token id) to Gumbel noise G. See design.md section 3 and docs/semantics.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>

namespace difr {

enum class NoiseProfile {
    vllm,       // vLLM 0.24-0.30 (Model Runner V2): Triton randint/rand Philox, G = -log(-log1p(-u))
    vllm_0_22,  // vLLM 0.22-0.23: same stream, G = -log(-log(u))
    torch_cpu,  // torch.Generator().manual_seed(seed), an exponential_ row of V per position, G = -log E
    llama_cpp,  // llama.cpp's dist sampler: mt19937(seed), one uniform per token, inverse CDF (not Gumbel;
                // see difr/inverse_cdf.h and difr/llamacpp_sampler.h)
};

std::string_view noise_profile_name(NoiseProfile profile);
std::optional<NoiseProfile> noise_profile_from_name(std::string_view name);

// --- the vllm profile, exposed for tests and for other tools -----------------------------------------------
// key = tl.randint(seed, pos): Philox4x32-10 on counter (lo32(pos), hi32(pos), 0, 0) with key (lo32(seed),
// hi32(seed)), first word. vLLM passes int64 seeds and positions; Triton >= 3.4 splits an int64 offset into
// two 32-bit counter words and stays on the 32-bit Philox, so the key is a uint32 (zero-extended here).
// (Triton <= 3.3 ran Philox4x64 on int64 offsets instead; no vLLM with Model Runner V2 used those.)
// Checked against Triton 3.9's interpreter: tests/data/conformance/vllm_noise.json.
uint64_t vllm_noise_key(uint64_t seed, int64_t pos);
// u = tl.rand(key, token): Philox4x32-10 on counter (token, 0, 0, 0) with key (lo32(key), hi32(key)),
// then Triton's uint_to_uniform_float. In [0, 1).
float vllm_noise_uniform(uint64_t key, int32_t token);
// G from u, clamped away from 0 as vLLM does: u >= 4.6566127342e-10 for vllm (0.24-0.30), u >= 2^-126 for
// vllm-0.22 (0.22-0.23).
float vllm_noise_gumbel(uint64_t key, int32_t token, NoiseProfile profile = NoiseProfile::vllm);

// --- the torch-cpu profile, exposed for tests ----------------------------------------------------------
// A CPU torch.Generator after manual_seed(seed): at::mt19937 is the standard MT19937 seeded with the low 32
// bits of the seed, the same engine as std::mt19937.
class TorchCpuGenerator {
public:
    explicit TorchCpuGenerator(uint64_t seed) : engine_(uint32_t(seed)) {}
    // tensor.exponential_(generator=g) on a contiguous float32 tensor (torch's serial CPU kernel): per value
    // two 32-bit draws make a 64-bit word (first draw high), u = its low 53 bits * 2^-53, E = -log1p(-u) in
    // double, rounded to float. Checked against torch 2.15: tests/data/conformance/torch_cpu_noise.json.
    void exponential(std::span<float> out);
    // The same draws without the transformation: out[i] is the 64-bit word exponential() would turn into
    // its i-th value (E = -log1p(-(low 53 bits * 2^-53))). Advances the generator exactly as exponential().
    void words(std::span<uint64_t> out);

private:
    std::mt19937 engine_;
};

// Noise for the rows of one sequence. `pos` is the absolute position of the token whose logits are sampled
// (vLLM's positions[logits_indices]): prompt_len - 1 + j for output token j.
class NoiseStream {
public:
    virtual ~NoiseStream() = default;
    virtual void seek(int64_t pos) = 0;
    virtual float gumbel(int32_t token) const = 0;
};

// `n_vocab` is needed by sequential profiles that draw a value for every token of a row.
// torch-cpu is sequential: the generator is seeded once per sequence and each seek() draws the next row of
// n_vocab values, so seek() must be called with consecutive positions (the first call may be any position;
// seeking the current position again keeps the row). Anything else throws std::logic_error, because a skipped
// or repeated row would silently shift every later row of the stream.
// Only the Gumbel profiles have a stream; llama_cpp throws std::invalid_argument (it is an inverse-CDF
// sampler, difr/inverse_cdf.h).
std::unique_ptr<NoiseStream> noise_stream_make(NoiseProfile profile, uint64_t seed, int32_t n_vocab);

}  // namespace difr
