// The torch-cpu noise profile: what token-difr's _verify_vllm_gumbel_max draws on the CPU, and what HF
// generation on the CPU samples with. torch's CPU exponential_ is a serial loop over one mt19937, so a row
// cannot be computed without every row before it; the stream below therefore only moves forward.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "difr/noise.h"

namespace difr {

namespace {

// CPUGeneratorImpl::random64: two 32-bit draws make one 64-bit word, the first draw high.
uint64_t torch_random64(std::mt19937 &engine) {
    const uint64_t hi = engine();
    const uint64_t lo = engine();
    return (hi << 32) | lo;
}

// E from one word: uniform_real_distribution<double> takes the low 53 bits into [0, 1); exponential_ on the
// CPU with lambda = 1 (the CUDA build uses -log(u) instead) is computed in double and only then cast to the
// tensor's float.
float torch_exponential(uint64_t word) {
    const double u = double(word & ((uint64_t(1) << 53) - 1)) * 0x1p-53;
    return float(-std::log1p(-u));
}

}  // namespace

void TorchCpuGenerator::exponential(std::span<float> out) {
    for (float &e : out) e = torch_exponential(torch_random64(engine_));
}

void TorchCpuGenerator::words(std::span<uint64_t> out) {
    for (uint64_t &w : out) w = torch_random64(engine_);
}

namespace {

class TorchCpuNoiseStream final : public NoiseStream {
public:
    TorchCpuNoiseStream(uint64_t seed, int32_t n_vocab) : gen_(seed), row_(size_t(n_vocab)) {
        if (n_vocab <= 0)
            throw std::invalid_argument("torch-cpu noise needs the vocabulary size, got " +
                                        std::to_string(n_vocab));
    }

    void seek(int64_t pos) override {
        if (started_ && pos == pos_) return;
        if (started_ && pos != pos_ + 1)
            throw std::logic_error("torch-cpu noise is sequential: after position " + std::to_string(pos_) +
                                   " the next row is position " + std::to_string(pos_ + 1) + ", not " +
                                   std::to_string(pos) + " (score the rows of a sequence in order)");
        // Every token's draw must be taken to keep the stream in step, but a verifier asks for the noise of
        // the few tokens that survive top-k/top-p: the two logarithms of each value wait until gumbel() asks
        // for it, so a row costs its V draws and the survivors' logarithms (bench/python_metrics.sh).
        gen_.words(row_);
        started_ = true;
        pos_ = pos;
    }

    // token-difr: G = -log(E) on the float tensor. E = 0 (u = 0, odds 2^-53) gives +inf, as in torch.
    float gumbel(int32_t token) const override { return -std::log(torch_exponential(row_[size_t(token)])); }

private:
    TorchCpuGenerator gen_;
    std::vector<uint64_t> row_;  // the row's raw 64-bit words
    bool started_ = false;
    int64_t pos_ = 0;
};

}  // namespace

std::unique_ptr<NoiseStream> torch_cpu_noise_stream_make(uint64_t seed, int32_t n_vocab) {
    return std::make_unique<TorchCpuNoiseStream>(seed, n_vocab);
}

}  // namespace difr
