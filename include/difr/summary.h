// Aggregates per-token metrics into the summary of design.md section 2 (token-difr's compute_metrics_summary
// and AuditResult field names).
#pragma once

#include <cstdint>
#include <string>

#include "difr/metrics.h"

namespace difr {

struct MetricsSummary {
    int64_t total_tokens = 0;
    int64_t n_sequences = 0;        // sequences with at least one scored token
    int64_t skipped_sequences = 0;  // sequences with no output tokens
    double exact_match_rate = 0.0;
    double avg_prob = 0.0;
    double avg_margin = 0.0;  // over finite margins only; +inf if none is finite
    double infinite_margin_rate = 0.0;
    double avg_logit_rank = 0.0;
    double avg_gumbel_rank = 0.0;  // +inf as soon as one rank is +inf, as in token-difr
    double avg_logprob = 0.0;
};

class SummaryAccumulator {
public:
    void add(const TokenMetrics &m);
    void end_sequence();  // closes a sequence; counted in n_sequences if it had tokens, else skipped
    MetricsSummary finish() const;

private:
    int64_t tokens_ = 0, matches_ = 0, finite_margins_ = 0, sequences_ = 0, skipped_ = 0, in_sequence_ = 0;
    double prob_ = 0, margin_ = 0, logit_rank_ = 0, gumbel_rank_ = 0, logprob_ = 0;
};

// "AuditResult(98.3% match rate, 18421 tokens across 100 sequences)"
std::string summary_audit_line(const MetricsSummary &s);

}  // namespace difr
