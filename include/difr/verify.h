// Token-DiFR verification against the local engine: score every claimed token of many sequences and
// summarise (the local counterpart of token-difr's verify_outputs + compute_metrics_summary).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "difr/identify.h"
#include "difr/model.h"
#include "difr/noise.h"
#include "difr/results.h"
#include "difr/sampling.h"
#include "difr/scorer.h"
#include "difr/sequences.h"
#include "difr/summary.h"

namespace difr {

struct VerifyOptions {
    SamplingParams sampling;
    NoiseProfile noise = NoiseProfile::vllm;
    HiddenCallback hidden;  // when set, the scorer also hands over each scored row's hidden state
    // `--noise auto`: score every token under each of these profiles in the same pass over the logits, then
    // report (and write the metrics of) the one that explains the tokens best. Empty: `noise` alone.
    std::vector<NoiseProfile> identify;
    // Called before each row is scored and between the steps of each decode (remote: after each answer),
    // maybe from an engine thread. An exception thrown from it abandons the run and propagates; what was
    // already written stays written. How a library caller stops a long run (the Python package turns Ctrl-C
    // into one).
    std::function<void()> interrupt_check;
};

struct VerifyResult {
    MetricsSummary summary;
    ScoreStats stats;
    double seconds = 0.0;
    NoiseProfile noise = NoiseProfile::vllm;  // the profile the summary and the written metrics are under
    std::optional<ProfileIdentification> identification;  // with VerifyOptions::identify
};

// Called once per finished sequence with the number finished so far (for progress reports).
using VerifyProgress = std::function<void(size_t done, size_t total)>;
// Called with each sequence's metrics (one per output token), in input order, as soon as they are final.
using VerifySink = std::function<void(size_t seq, std::span<const TokenMetrics> metrics)>;

// Scores `seqs` against `model`. Per-token metrics go to `writer` when given, whole sequences in input order.
// With VerifyOptions::identify they are held until every sequence is scored (the best profile is known only
// then) and `progress` still reports as sequences finish.
// Throws InputError for bad sequences before any decoding.
VerifyResult verify_sequences(Model &model, const EngineSettings &settings,
                              std::span<const TokenSequence> seqs, const VerifyOptions &options,
                              TokenMetricsWriter *writer = nullptr, const VerifyProgress &progress = {},
                              const VerifySink &sink = {});

// A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise.
class ProgressBar {
public:
    ProgressBar(std::string label, size_t total);
    void update(size_t done);
    void finish();

private:
    std::string label_;
    size_t total_;
    bool tty_;
    double start_;
    double last_draw_ = -1.0;
    int last_decile_ = -1;
};

}  // namespace difr
