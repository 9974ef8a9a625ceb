// Activation proofs of generated tokens: Activation-DiFR fingerprints (difr/fingerprint.h) and TOPLOC proofs
// (difr/toploc.h) built by a prover from the hidden states it sampled with, and checked by a verifier against
// the hidden states of its own batched prefill. Both sides stream: they hold one TOPLOC chunk per active
// sequence and the k values per token they emit or compare, never a sequence's hidden states.
//
// The fingerprints file (docs/fingerprints.md) is JSON Lines: a header object, then one object per sequence:
//   {"format": "difr-fingerprints", "version": 1, "model": "...", "n_embd": 576,
//    "fingerprint": {"seed": 42, "k": 8, "basis": "orthonormal", "dtype": "f16"} | null,
//    "toploc": {"topk": 128, "decode_batching_size": 32} | null}
//   {"seq": 0, "tokens": 96, "fingerprint": "<base64: tokens x k little-endian 16-bit values>",
//    "toploc": ["<base64 proof>", ...]}
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "difr/error.h"
#include "difr/fingerprint.h"
#include "difr/toploc.h"

namespace difr {

// TOPLOC over the generated tokens: chunks of `decode_batching_size` tokens, each token's vector the row that
// sampled it (the package's skip_prefill=True layout; prefill proofs are `difr toploc build`'s business).
struct ToplocSpec {
    int32_t topk = 128;
    int32_t decode_batching_size = 32;
};

struct ActivationProofSpec {
    std::optional<FingerprintSpec> fingerprint;  // dim is filled in from the model
    std::optional<ToplocSpec> toploc;
    bool empty() const { return !fingerprint && !toploc; }
};

struct SequenceProofs {
    int64_t tokens = 0;
    std::vector<uint16_t> fingerprint;  // tokens x k
    std::vector<std::string> toploc;    // base64 proofs, one per chunk
};

struct ActivationProofsFile {
    std::string path;
    std::string model;
    int32_t n_embd = 0;
    ActivationProofSpec spec;
    std::vector<SequenceProofs> sequences;  // by sequence index
};

// Reads a fingerprints file. Throws InputError naming the file, the line and the field: a malformed line, an
// unknown format or version, a sequence index out of order or repeated, a fingerprint whose length is not
// tokens x k x 2 bytes, a TOPLOC proof count other than the chunk count.
ActivationProofsFile activation_proofs_read(const std::string &path);

// Writes a fingerprints file as sequences finish, in sequence order (a sequence that finishes early waits
// for the ones before it), flushing each line.
class ActivationProofsWriter {
public:
    ActivationProofsWriter(const std::string &path, const std::string &model, int32_t n_embd,
                           const ActivationProofSpec &spec);
    void write(size_t seq, SequenceProofs proofs);
    size_t written() const { return next_; }

private:
    std::string path_;
    std::ofstream out_;
    std::map<size_t, SequenceProofs> waiting_;
    size_t next_ = 0;
};

// The file's lines as JSON objects: the header, and one sequence's line. The writer writes exactly these;
// difr serve's prover endpoints return them, so a client that writes the two as lines holds a file that
// `difr verify --fingerprints` reads (docs/serve.md, "Activation proofs").
nlohmann::ordered_json activation_proofs_header_json(const std::string &model, int32_t n_embd,
                                                     const ActivationProofSpec &spec);
nlohmann::ordered_json activation_proofs_line_json(size_t seq, const SequenceProofs &proofs);

// What one sequence's proofs cost as the prover emits them, before base64 and JSON: 2k bytes per token of
// fingerprint, 2 + 2k bytes per TOPLOC chunk.
struct ActivationProofBytes {
    int64_t fingerprint = 0, toploc = 0;
    int64_t total() const { return fingerprint + toploc; }
};
ActivationProofBytes activation_proof_bytes(const ActivationProofSpec &spec, const SequenceProofs &proofs);

// A bad `fingerprint` or `toploc` field of a request: `field()` is the request's top-level field, the message
// names the exact one ("fingerprint.k: 129 is outside [2, 128]").
class ActivationProofRequestError : public InputError {
public:
    ActivationProofRequestError(std::string field, const std::string &message)
        : InputError(message), field_(std::move(field)) {}
    const std::string &field() const { return field_; }

private:
    std::string field_;
};

// The activation proofs a request asks for (difr serve's prover endpoints, docs/serve.md): its `fingerprint`,
// an integer k or {"k" (required, 2 .. 128), "seed" (42), "basis" ("orthonormal"), "dtype" ("f16")}, and its
// `toploc`, true or {"topk" (128, 1 .. n_embd), "decode_batching_size" (32, 1 .. 2^20), "skip_prefill" (true,
// the only layout the file holds)}: the objects of the file's header, with the command line's defaults.
// Absent, null or false: not asked. Strict, as for input from the network: a wrong type, a value out of range
// or an unknown key throws ActivationProofRequestError. Pure: no engine, no I/O.
ActivationProofSpec activation_proof_request_parse(const nlohmann::json &request, int32_t n_embd);

// The prover side: feed each sequence's hidden rows in order, then finish it.
class ActivationProver {
public:
    ActivationProver(const ActivationProofSpec &spec, int32_t n_embd);
    void add(size_t seq, int32_t j, std::span<const float> hidden);
    SequenceProofs finish(size_t seq);  // also for a sequence that produced no row
    const ActivationProofSpec &spec() const { return spec_; }

private:
    struct State {
        SequenceProofs proofs;
        std::vector<uint16_t> chunk;  // bf16 rows of the TOPLOC chunk in progress
    };
    void flush_chunk(State &st);
    ActivationProofSpec spec_;
    int32_t n_embd_;
    std::optional<FingerprintProjector> projector_;
    std::map<size_t, State> active_;
};

struct TokenFingerprintCheck {
    double l2 = 0.0;        // |f_verifier - f_claimed|
    double relative = 0.0;  // l2 / |f_verifier| (0 when both are 0)
};

struct ChunkToplocCheck {
    int32_t first_token = 0, tokens = 0;
    ToplocResult result;
    bool pass = false;
};

struct SequenceCheck {
    std::vector<TokenFingerprintCheck> tokens;
    std::vector<ChunkToplocCheck> chunks;
};

struct FingerprintStats {
    int64_t tokens = 0;
    double mean = 0, median = 0, p99 = 0, max = 0;  // of l2
    double mean_relative = 0, max_relative = 0;
    double zero_rate = 0;  // tokens whose fingerprint is bit-identical
};

struct ToplocStats {
    int64_t chunks = 0, passed = 0;
    int32_t max_exp_mismatches = 0;
    double max_mant_err_mean = 0, max_mant_err_median = 0;
};

// The verifier side: the claimed proofs in, one hidden row per scored token (any interleaving of sequences,
// rows of one sequence in order), per-token distances and per-chunk TOPLOC results out.
class ActivationChecker {
public:
    // Throws InputError (naming the file and sequence) when the claims do not fit the sequences: another
    // sequence count, a sequence whose token count differs, a hidden size other than the model's. `claimed`
    // is referenced, not copied: it must outlive the checker.
    ActivationChecker(const ActivationProofsFile &claimed, std::span<const int64_t> output_lengths,
                      int32_t n_embd, const ToplocThresholds &thresholds = {},
                      ToplocSemantics semantics = ToplocSemantics::cpp);
    void add(size_t seq, int32_t j, std::span<const float> hidden);
    const std::vector<SequenceCheck> &results() const { return results_; }
    FingerprintStats fingerprint_stats() const;
    ToplocStats toploc_stats() const;
    const ActivationProofsFile &claimed() const { return claimed_; }

private:
    void check_chunk(size_t seq);
    const ActivationProofsFile &claimed_;
    int32_t n_embd_;
    ToplocThresholds thresholds_;
    ToplocSemantics semantics_;
    std::optional<FingerprintProjector> projector_;
    std::vector<SequenceCheck> results_;
    std::map<size_t, std::vector<uint16_t>> chunks_;  // TOPLOC chunk in progress per active sequence
    std::vector<uint16_t> own_;                       // scratch: the verifier's fingerprint of one token
};

// Per-token fingerprint distances ({"seq", "pos", "l2", "relative"}) and per-chunk TOPLOC results ({"seq",
// "chunk", "first_token", "tokens", "exp_mismatches", "mant_err_mean", "mant_err_median", "pass"}) as JSON
// Lines; a file is written only for the proofs the claim holds. Throws InputError naming a file it cannot
// write.
void activation_checks_write(const ActivationChecker &checker, const std::string &fingerprints_path,
                             const std::string &toploc_path);

// JSON objects for summaries and the command line's report.
std::string fingerprint_stats_json(const FingerprintStats &s);
std::string toploc_stats_json(const ToplocStats &s, const ToplocThresholds &t);

}  // namespace difr
