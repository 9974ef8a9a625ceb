// The provider audit's report: a self-contained HTML page (no scripts, no external resources) rendered from
// audit_results.json, the multi-provider file `difr audit` writes: {"<provider>": AuditResult, ...}
// (docs/audit.md). A bar chart of the exact-match rate and one of the mean margin per provider, a summary
// table, and a table of every field per provider; with a threshold, providers below it are marked.
//
// The reader takes token-difr's own file too: only the fields of token-difr's AuditResult are required
// (exact_match_rate, avg_prob, avg_margin, total_tokens, n_sequences); what difr adds is optional, and fields
// the report does not know are ignored, so newer files still render.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace difr {

struct AuditReportRetokenization {
    int64_t sequences_compared = 0, sequences_changed = 0, tokens_compared = 0, tokens_changed = 0;
};

// One provider's result as the report reads it. NaN stands for null in the file (a value that was not
// finite: avg_margin when no margin is finite, avg_gumbel_rank when a claimed token was filtered out);
// nullopt and empty strings for fields the file lacks.
struct AuditReportEntry {
    std::string provider;  // the key in the file
    double exact_match_rate = 0.0, avg_prob = 0.0, avg_margin = 0.0;
    int64_t total_tokens = 0, n_sequences = 0;
    std::optional<double> avg_logit_rank, avg_gumbel_rank, infinite_margin_rate, avg_logprob;
    std::optional<int64_t> n_prompts, skipped_sequences, n_truncated, max_tokens;
    std::optional<AuditReportRetokenization> retokenization;
    std::string model, answered_by;
    std::string reference;  // the reference's id: the string itself, or the object's "id"
    std::string
        reference_detail;  // the object's other scalar fields ("kind=topk, k=5, ..."); empty for a string
    std::string sampling;  // config.sampling as "temperature=0, top_k=-1, ..." in the file's order
    std::string endpoint;  // config.base_url, and the pinned provider if any
};

struct AuditReport {
    std::string source;                     // the file it was read from, for messages and the page
    std::vector<AuditReportEntry> entries;  // in the file's order (the order providers were audited)
};

struct AuditReportOptions {
    // Providers whose exact_match_rate is below this (a fraction, as `difr audit --fail-below`) are coloured
    // as failing; the rate chart draws the line.
    std::optional<double> threshold;
};

// Parses the text of an audit_results.json; `source` names it in errors. Throws InputError naming the source,
// the provider and the field of malformed input.
AuditReport audit_report_parse(const std::string &text, const std::string &source);
AuditReport audit_report_read(const std::string &path);

std::string audit_report_html(const AuditReport &report, const AuditReportOptions &options = {});

// Reads results_path and writes the page to html_path atomically. This is what `difr audit` runs after each
// provider and what `difr audit-report` runs.
void audit_report_write(const std::string &results_path, const std::string &html_path,
                        const AuditReportOptions &options = {});

}  // namespace difr
