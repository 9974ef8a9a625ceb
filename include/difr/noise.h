// Noise profiles: where the randomness of a seeded sampler comes from, so that a verifier can replay it.
// A profile maps (seed, row, token id) to Gumbel noise G. See design.md section 3 and docs/semantics.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace difr {

enum class NoiseProfile {
    vllm,            // vLLM 0.31-0.33 (Model Runner V2): murmur3 of (seed, pos, token), fp32 u, G = -log(-L)
    vllm_fp64,       // the same releases with --use-fp64-gumbel: two murmur3 hashes, 53-bit u, fp64 G
    vllm_0_30,       // vLLM 0.24-0.30 (Model Runner V2): Triton randint/rand Philox, G = -log(-log1p(-u))
    vllm_0_30_fp64,  // vLLM 0.22-0.30 with --use-fp64-gumbel: 64 Philox bits, fp64 G = -log(-log u)
    vllm_0_22,       // vLLM 0.22-0.23: Philox as vllm-0.30, G = -log(-log(u))
    sglang,     // SGLang deterministic mode (multinomial_with_seed): murmur3, fp64 G = -log(-log(h/(2^32-1)))
    torch_cpu,  // torch.Generator().manual_seed(seed), an exponential_ row of V per position, G = -log E
    llama_cpp,  // llama.cpp's dist sampler: mt19937(seed), one uniform per token, inverse CDF (not Gumbel;
                // see difr/inverse_cdf.h and difr/llamacpp_sampler.h)
};

// Every profile, in the order `--noise auto` reports them.
inline constexpr NoiseProfile kNoiseProfiles[] = {
    NoiseProfile::vllm,      NoiseProfile::vllm_fp64, NoiseProfile::vllm_0_30, NoiseProfile::vllm_0_30_fp64,
    NoiseProfile::vllm_0_22, NoiseProfile::sglang,    NoiseProfile::torch_cpu, NoiseProfile::llama_cpp};

std::string_view noise_profile_name(NoiseProfile profile);
// Accepts the names above and the versioned aliases vllm-0.31, vllm-0.32, vllm-0.33 (of vllm) and their
// -fp64 forms. "vllm-0.30" has named the Philox-era profile since before vllm moved on to murmur3.
std::optional<NoiseProfile> noise_profile_from_name(std::string_view name);
// The engine releases a profile replays, as results and docs state them ("vLLM 0.31-0.33 ...").
std::string_view noise_profile_covers(NoiseProfile profile);
// "vllm, vllm-fp64, ..., llama.cpp": for help texts and errors.
std::string noise_profile_names();
// The profiles whose noise is a function of (seed, position, column) alone (all but torch-cpu and llama.cpp).
bool noise_profile_counter_based(NoiseProfile profile);

// --- the Philox-era profiles (vllm-0.30, vllm-0.30-fp64, vllm-0.22), exposed for tests and tools -----------
// key = tl.randint(seed, pos): Philox4x32-10 on counter (lo32(pos), hi32(pos), 0, 0) with key (lo32(seed),
// hi32(seed)), first word. vLLM passes int64 seeds and positions; Triton >= 3.4 splits an int64 offset into
// two 32-bit counter words and stays on the 32-bit Philox, so the key is a uint32 (zero-extended here).
// (Triton <= 3.3 ran Philox4x64 on int64 offsets instead; no vLLM with Model Runner V2 used those.)
// Checked against Triton 3.9's interpreter: tests/data/conformance/vllm_noise.json.
uint64_t vllm_noise_key(uint64_t seed, int64_t pos);
// u = tl.rand(key, token): Philox4x32-10 on counter (token, 0, 0, 0) with key (lo32(key), hi32(key)),
// then Triton's uint_to_uniform_float. In [0, 1).
float vllm_noise_uniform(uint64_t key, int32_t token);
// G from u, clamped away from 0 as vLLM does: u >= 4.6566127342e-10 for vllm-0.30 (0.24-0.30), u >= 2^-126
// for vllm-0.22 (0.22-0.23).
float vllm_noise_gumbel(uint64_t key, int32_t token, NoiseProfile profile = NoiseProfile::vllm_0_30);
// --use-fp64-gumbel (tl_rand64): words 0 and 1 of the same Philox block as vllm_noise_uniform, r = w1 * 2^32
// + w0, u = max(double(r) * 2^-64, DBL_MIN). The uint64 -> double conversion rounds, so u can be 1.0 (odds
// 2^-54), where G = -log(-log u) is +inf as on the GPU.
double vllm_noise_uniform64(uint64_t key, int32_t token);

// --- the murmur3 profiles (vllm, vllm-fp64, sglang) ------------------------------------------------------
// vLLM's murmur3_hash32 and SGLang's murmur_hash32: MurmurHash3_x86_32 with seed `domain` over the 16 bytes
// <u64 seed><u32 lo32(pos)><u32 column> (little-endian). Only the low 32 bits of the position enter. The
// column is the token id (vLLM; SGLang without top-k/top-p) or the rank by probability (SGLang with them).
uint32_t murmur3_noise_hash(uint64_t seed, int64_t pos, uint32_t column, uint32_t domain = 0);
constexpr uint32_t kMurmur3Fp64Domain = 0x9E3779B9;  // vLLM's second hash for the fp64 path
// vllm: u = hi16 * 2^-16 + (lo16 + 0.5) * 2^-32 in float (both products exact: u is (h + 0.5) / 2^32
// correctly rounded), in [2^-33, 1].
float vllm_murmur3_uniform(uint32_t hash);
// vllm: L = log(1 - u) by vLLM's _log1p_neg_stable (below 0.25 a degree-8 Horner series, each step one
// fused multiply-add as Triton emits on a GPU; else log(max(1 - u, 2^-24))), G = -log(-L), in float.
float vllm_murmur3_gumbel(uint32_t hash);
// vllm-fp64: r53 = ((hi << 32) | lo) >> 11, u = (r53 + 0.5) * 2^-53 (1 - 2^-53 where that rounds to 1).
double vllm_murmur3_uniform64(uint32_t lo, uint32_t hi);
// sglang: x = h / (2^32 - 1) in double, G = -log(-clamp(log x, -DBL_MAX, -2^-32)). h = 0 gives
// -log(DBL_MAX) = -709.78, h = 2^32 - 1 gives 32 ln 2 = 22.18 (the clamp of SGLang #33423).
double sglang_uniform(uint32_t hash);
double sglang_gumbel(uint32_t hash);

// One token's noise under a counter-based profile, with the raw random words it came from: what
// `difr noise` prints for checking a replay by hand. `words` names them as the originals do: "hash"
// (and "hash_hi", the fp64 path's second hash) for murmur3, "key" (tl.randint(seed, pos)) and "philox"
// (tl.randint(key, token), "philox_hi" its second word for fp64) for the Philox era.
struct NoiseSample {
    std::vector<std::pair<std::string, uint32_t>> words;
    double u = 0.0;       // the uniform, exactly (a float's value for the fp32 profiles)
    double gumbel = 0.0;  // G, exactly as the profile computes it (a float's value for the fp32 profiles)
    bool fp64 = false;    // u and G are doubles
};
// Throws std::invalid_argument for torch-cpu and llama.cpp (not counter-based).
NoiseSample noise_sample(NoiseProfile profile, uint64_t seed, int64_t pos, uint32_t column);

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
// (vLLM's positions[logits_indices], SGLang's positions): prompt_len - 1 + j for output token j.
class NoiseStream {
public:
    virtual ~NoiseStream() = default;
    virtual void seek(int64_t pos) = 0;
    virtual float gumbel(int32_t column) const = 0;
    // fp64 profiles (vllm-fp64, vllm-0.30-fp64, sglang): the sampler adds G in double to double(x) and takes
    // the argmax in double; gumbel() is then G rounded to float, for display only.
    virtual bool fp64() const { return false; }
    virtual double gumbel64(int32_t column) const { return gumbel(column); }
    // SGLang: with top-k or top-p set, its pytorch sampler filters sorted probabilities and keys the noise by
    // rank (column = 0 for the most likely token) instead of by token id (difr/sampling.h,
    // sampling_filter_sglang).
    virtual bool sglang_sampler() const { return false; }
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
