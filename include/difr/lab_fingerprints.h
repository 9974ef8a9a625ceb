// The activation-proof lab (issue #13): for every configuration of a lab file (docs/lab.md), the provider
// generates for real with the claimed sampling (pass t1) and emits Activation-DiFR fingerprints at several k
// and TOPLOC proofs (per token at the same k, as DiFR's code runs it, and k = 128 per 32 tokens, the
// package's standard setting) from the hidden states it sampled with; the reference verifies the same tokens
// in one batched prefill. Per token (or chunk) features go to LABDIR/fingerprints/<config>.jsonl; the
// analysis asks, per method and deviation, how many tokens a verifier needs for TPR >= 0.99 at FPR <= 1%
// (DiFR's bucket, logistic-regression and ROC method, difr/stats.h) and what each method costs in bytes per
// token, and writes LABDIR/fingerprints/results.json, results.md and report.html (with the detection-vs-bytes
// chart).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "difr/lab.h"

namespace difr {

struct FingerprintLabOptions {
    std::vector<int32_t> ks = {2, 4, 8, 16, 32, 64, 128};  // Activation-DiFR and per-token TOPLOC
    int32_t toploc_topk = 128, toploc_chunk = 32;          // TOPLOC as its package is used
    uint64_t seed = 42;                                    // the projection's
};

// Runs every configuration of `spec` (pass t1 only) into out_dir/fingerprints/, resuming complete ones.
void fingerprint_lab_run(const LabSpec &spec, const std::string &out_dir, const LabEnvironment &env,
                         const FingerprintLabOptions &options = {});

// Reads out_dir/fingerprints/ and writes results.json, results.md and report.html there; returns the
// markdown. Throws InputError naming the file of bad input.
std::string fingerprint_lab_analyze(const std::string &out_dir);

}  // namespace difr
