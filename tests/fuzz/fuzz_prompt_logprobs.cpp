// Prompt-logprob answers of a remote reference, Fireworks-style echo rows and vLLM prompt_logprobs, and the
// metrics made from them (`difr verify --reference`, `difr audit --reference`). The first two bytes choose
// the wire, k and the split of the token sequence; the rest is the answer body.
#include <vector>

#include "difr/reference.h"
#include "difr/remote.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    if (size < 2) return 0;
    const LogprobWire wire = data[0] & 1 ? LogprobWire::vllm_prompt_logprobs : LogprobWire::fireworks_echo;
    const int32_t k = 1 + (data[0] >> 1) % 20;
    const size_t start = 1 + data[1] % 4, n = 1 + (data[1] >> 2) % 8;
    constexpr int32_t kVocab = 64;
    std::vector<int32_t> tokens(start + n);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = (int32_t)(i * 7 % kVocab);
    const std::string where = "fuzz reference (sequence 0)";
    std::vector<TopkRow> rows;
    if (!fuzz::fuzz_expect<RemoteError>(where, [&] {
            rows =
                prompt_logprobs_parse(wire, fuzz::fuzz_text(data + 2, size - 2), tokens, start, n, k, where);
        }))
        return 0;
    if (rows.size() != n) fuzz::fuzz_fail("wrong number of rows");
    for (const TopkRow &row : rows)
        if ((int32_t)row.size() > k) fuzz::fuzz_fail("a row longer than k");
    SamplingParams sampling;
    sampling.temperature = data[1] & 0x80 ? 1.0f : 0.0f;
    sampling.top_k = 50;
    sampling.top_p = 0.95f;
    sampling.seed = 42;
    const std::span<const int32_t> output(tokens.data() + start, n);
    // The rows' ids come from the server: one outside the vocabulary must be an error, never an index.
    fuzz::fuzz_expect<RemoteError>("reference row", [&] {
        const auto ms = topk_rows_metrics(rows, output, sampling, NoiseProfile::vllm, (int64_t)start, kVocab);
        if (ms.size() != n) fuzz::fuzz_fail("wrong number of metrics");
    });
    return 0;
}
