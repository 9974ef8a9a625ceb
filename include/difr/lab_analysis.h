// The detection lab's analysis (issue 4): reads a lab directory written by `difr lab` (lab.json and, per
// configuration and pass, the verifier's tokens.jsonl), runs both detection methods of difr/detect.h on every
// pass, and writes results.json, results.md and a self-contained report.html.
//
// LABDIR/lab.json: {"lab": name, "reference": {...}, "claimed": {...}, "n_prompts": N, "max_tokens": M,
//   "configs": [{"name": "q4_0", "role": "deviation" | "honest", "description": "...",
//                "passes": {"t1": "runs/q4_0-t1", "t0": "runs/q4_0-t0"}}, ...]}
// Pass directories are relative to LABDIR; a configuration may lack a pass.
#pragma once

#include <string>
#include <vector>

#include "difr/detect.h"

namespace difr {

struct LabConfigInfo {
    std::string name, role, description;
};

struct LabPass {
    std::string name;                  // "t1", "t0", ...
    std::vector<std::string> configs;  // configurations that have this pass, in lab.json order
    PassResult result;                 // result.configs in the same order
};

struct LabAnalysis {
    std::string lab;
    std::string lab_json;  // lab.json as read, embedded in results.json
    std::vector<LabConfigInfo> configs;
    std::vector<LabPass> passes;  // in order of first appearance in lab.json
    DetectOptions options;
};

// One pass's tokens.jsonl (the text of `source`): one {"seq", "exact_match", "prob", "margin", ...} object
// per line, seq in [0, max_sequences). Throws InputError naming the file, line and field of malformed input.
inline constexpr int64_t kLabMaxSequences = 1 << 20;
ConfigTokens lab_tokens_parse(const std::string &text, const std::string &source, const LabConfigInfo &config,
                              int64_t max_sequences = kLabMaxSequences);

// Reads LABDIR and analyses every pass. Throws InputError naming the file (and line) of bad input: a missing
// lab.json, a pass directory without tokens.jsonl, a malformed line, a pass without honest tokens.
LabAnalysis lab_analyze(const std::string &labdir, const DetectOptions &options = {});

std::string lab_results_json(const LabAnalysis &a);
std::string lab_results_markdown(const LabAnalysis &a);
std::string lab_report_html(const LabAnalysis &a);

// lab_analyze, then writes LABDIR/results.json, results.md and report.html; returns the markdown.
// This is what `difr analyze` runs and what `difr lab` calls when its runs are done.
std::string lab_analyze_write(const std::string &labdir, const DetectOptions &options = {});

}  // namespace difr
