// What a verification returns to Python, local or remote: every sequence's metrics in flat columns (NumPy
// arrays) with offsets, the summary and the run's statistics.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "difr/results.h"
#include "difr/verify.h"
#include "py_common.h"

namespace difr::py {

struct VerifyRun {
    VerifyResult result;
    std::vector<uint8_t> exact_match;
    std::vector<int32_t> predicted;
    std::vector<float> prob, margin, logit_rank, gumbel_rank, logprob;
    std::vector<int64_t> offsets{0};  // sequence i's tokens are [offsets[i], offsets[i + 1])

    void add(std::span<const TokenMetrics> ms);  // the next sequence, in input order
};

// {"exact_match": ..., ..., "offsets": ..., "summary": {...}, "tokens_evaluated", "decode_calls", "seconds"}.
nb::dict verify_run_to_python(VerifyRun &&run);

// OUT_DIR/tokens.jsonl as `difr verify -o OUT_DIR` writes it (the directory is made); null for "".
std::unique_ptr<TokenMetricsWriter> metrics_writer_open(const std::string &out_dir);

}  // namespace difr::py
