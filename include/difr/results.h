// Result files: per-token metrics as JSONL and the summary JSON (design.md section 5).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include "difr/metrics.h"
#include "difr/summary.h"

namespace difr {

// Writes one JSON object per token: {"seq":0,"pos":3,"token":42,"predicted":42,"exact_match":true,...}.
// Each sequence's lines are flushed when it ends, so an interrupted run keeps what it finished.
class TokenMetricsWriter {
public:
    // Throws InputError if the file cannot be created. `append`: continue a file a resumed run keeps
    // (difr/checkpoint.h), whose first `seq_offset` sequences are already there; write() then takes indices
    // relative to the sequences still to come.
    explicit TokenMetricsWriter(const std::string &path, bool append = false, size_t seq_offset = 0);
    void write(size_t seq, int32_t pos, int32_t token, const TokenMetrics &m);
    void end_sequence();

private:
    std::string path_;
    std::ofstream out_;
    size_t seq_offset_ = 0;
};

// The summary object: the fields of design.md section 2 plus the provenance the caller passes as JSON text.
std::string summary_to_json(const MetricsSummary &s, const std::string &provenance_json);

// The whole file as bytes. Throws InputError "cannot read WHAT 'PATH'" (what: "prompts file", ...; may be
// empty).
std::string file_read_text(const std::string &path, const std::string &what = "");

// Writes text to a file atomically (temporary file, then rename). Throws InputError naming the path.
void file_write_atomic(const std::string &path, const std::string &text);

// SHA-256 of a file, lowercase hex.
std::string file_sha256(const std::string &path);
// SHA-256 of a string, lowercase hex.
std::string text_sha256(const std::string &text);

}  // namespace difr
