// Checkpoints of `difr generate` and `difr verify` (docs/hardening.md, "Nothing lost"): what a run has
// finished is on disk the moment it is finished, so a run killed at any point (kill -9 included) and started
// again with the same settings keeps those sequences and computes only the rest, and its output is the output
// an uninterrupted run writes. A checkpoint names the run that wrote it (its identity: input, model, engine,
// sampling); one of another run, of an older difr without a run header, or of a newer format is refused with
// a message that says so, never misread.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "difr/metrics.h"
#include "difr/sequences.h"

namespace difr {

// The identity of a run: a JSON object (text) of the settings that determine its results. Two runs with equal
// identities compute the same thing. checkpoint_identity_diff says how two differ ("sampling.seed: 42 here,
// 43 in the checkpoint"), empty when they are equal.
std::string checkpoint_identity_diff(const std::string &ours, const std::string &theirs);

// --- difr generate: OUT.partial.jsonl ---
// Line 1: {"difr_checkpoint": "generate", "format": 1, "run": IDENTITY}; then one line per finished sequence,
// {"index": i, "prompt_token_ids": [...], "output_token_ids": [...]}, in the order they finished.

struct GenerateCheckpointState {
    std::map<size_t, TokenSequence> finished;  // by prompt index
    size_t valid_bytes = 0;                    // the prefix of whole lines; a torn last line lies beyond it
};

// Reads a checkpoint's text. Throws InputError naming `source` (and the line) when it is not a generate
// checkpoint, is of another format version or of an older difr, belongs to a run with another identity, or
// holds a sequence that does not fit `prompts` (an index outside them, a prompt other than that index's,
// an index twice, empty outputs).
GenerateCheckpointState generate_checkpoint_parse(const std::string &text, const std::string &source,
                                                  const std::string &identity,
                                                  const std::vector<std::vector<int32_t>> &prompts);

class GenerateCheckpoint {
public:
    // Opens `path`: reads what a killed run of the same identity finished (cutting a torn last line), or
    // starts the file with this run's header. Throws InputError as generate_checkpoint_parse.
    GenerateCheckpoint(const std::string &path, const std::string &identity,
                       const std::vector<std::vector<int32_t>> &prompts);
    const std::map<size_t, TokenSequence> &finished() const { return state_.finished; }
    // Appends one finished sequence and flushes it to the kernel, so a kill -9 right after keeps it.
    void append(size_t index, const TokenSequence &seq);
    // The run is complete and its output written: the checkpoint goes.
    void remove();

private:
    std::string path_;
    GenerateCheckpointState state_;
    std::ofstream out_;
};

// --- difr verify: OUT/verify-run.json beside OUT/tokens.jsonl ---
// verify-run.json: {"difr_checkpoint": "verify", "format": 1, "run": IDENTITY}. tokens.jsonl is the output
// itself: whole sequences in input order (TokenMetricsWriter), so the finished work is its longest prefix of
// complete sequences.

struct VerifyCheckpointState {
    size_t sequences_done = 0;                       // sequences [0, sequences_done) are complete
    std::vector<std::vector<TokenMetrics>> metrics;  // theirs, one per output token, as written
    size_t valid_bytes = 0;                          // the bytes of tokens.jsonl that hold them
};

// Reads the text of a tokens.jsonl written for `seqs`. Every line must be the row of the next output position
// of the sequences in order (seq, pos and token as expected), else InputError naming `source` and the line;
// a torn last line and an unfinished last sequence are left out (beyond valid_bytes).
VerifyCheckpointState verify_tokens_parse(const std::string &text, const std::string &source,
                                          const std::vector<TokenSequence> &seqs);

// Opens OUT for a verify run of `identity` over `seqs`: a fresh directory gets verify-run.json; one with a
// verify-run.json of the same identity gives back its finished sequences and has tokens.jsonl cut to them;
// anything else (another identity, a tokens.jsonl without verify-run.json, another format) is an InputError
// that says what to do.
VerifyCheckpointState verify_checkpoint_open(const std::string &out_dir, const std::string &identity,
                                             const std::vector<TokenSequence> &seqs);

}  // namespace difr
