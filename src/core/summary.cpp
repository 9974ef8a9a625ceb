#include "difr/summary.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace difr {

void SummaryAccumulator::add(const TokenMetrics &m) {
    ++tokens_;
    ++in_sequence_;
    matches_ += m.exact_match;
    prob_ += m.prob;
    if (std::isfinite(m.margin)) {
        margin_ += m.margin;
        ++finite_margins_;
    }
    logit_rank_ += m.logit_rank;
    gumbel_rank_ += m.gumbel_rank;
    logprob_ += m.logprob;
}

void SummaryAccumulator::end_sequence() {
    if (in_sequence_ > 0)
        ++sequences_;
    else
        ++skipped_;
    in_sequence_ = 0;
}

MetricsSummary SummaryAccumulator::finish() const {
    MetricsSummary s;
    s.total_tokens = tokens_;
    s.n_sequences = sequences_ + (in_sequence_ > 0 ? 1 : 0);
    s.skipped_sequences = skipped_;
    if (tokens_ == 0) return s;
    const double n = (double)tokens_;
    s.exact_match_rate = matches_ / n;
    s.avg_prob = prob_ / n;
    s.avg_margin = finite_margins_ > 0 ? margin_ / finite_margins_ : std::numeric_limits<double>::infinity();
    s.infinite_margin_rate = (tokens_ - finite_margins_) / n;
    s.avg_logit_rank = logit_rank_ / n;
    s.avg_gumbel_rank = gumbel_rank_ / n;
    s.avg_logprob = logprob_ / n;
    return s;
}

std::string summary_audit_line(const MetricsSummary &s) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "AuditResult(%.1f%% match rate, %lld tokens across %lld sequences)",
                  100.0 * s.exact_match_rate, (long long)s.total_tokens, (long long)s.n_sequences);
    return buf;
}

}  // namespace difr
