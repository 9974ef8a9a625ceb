// The torch-cpu noise profile: what token-difr's _verify_vllm_gumbel_max draws on the CPU, and what HF
// generation on the CPU samples with. torch's CPU exponential_ is a serial loop over one mt19937, so a row
// cannot be computed without every row before it; the stream below therefore only moves forward.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "difr/noise.h"

namespace difr {

void TorchCpuGenerator::exponential(std::span<float> out) {
    for (float &e : out) {
        // CPUGeneratorImpl::random64: the first 32-bit draw is the high word.
        const uint64_t hi = engine_();
        const uint64_t lo = engine_();
        const uint64_t r = (hi << 32) | lo;
        // uniform_real_distribution<double>: the low 53 bits scaled into [0, 1).
        const double u = double(r & ((uint64_t(1) << 53) - 1)) * 0x1p-53;
        // transformation::exponential on the CPU with lambda = 1 (the CUDA build uses -log(u) instead),
        // computed in double and only then cast to the tensor's float.
        e = float(-std::log1p(-u));
    }
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
        gen_.exponential(row_);
        started_ = true;
        pos_ = pos;
    }

    // token-difr: G = -log(E) on the float tensor. E = 0 (u = 0, odds 2^-53) gives +inf, as in torch.
    float gumbel(int32_t token) const override { return -std::log(row_[size_t(token)]); }

private:
    TorchCpuGenerator gen_;
    std::vector<float> row_;
    bool started_ = false;
    int64_t pos_ = 0;
};

}  // namespace

std::unique_ptr<NoiseStream> torch_cpu_noise_stream_make(uint64_t seed, int32_t n_vocab) {
    return std::make_unique<TorchCpuNoiseStream>(seed, n_vocab);
}

}  // namespace difr
