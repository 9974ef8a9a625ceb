// Reference scoring: the logits of a model for every output position of many token sequences, evaluated
// with batched llama.cpp decodes (continuous batching over a few sequence slots, outputs only where needed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include "difr/model.h"
#include "difr/sequences.h"

struct llama_context;

namespace difr {

// Called once per output position, in order within each sequence (sequences may interleave).
// `logits` is valid only during the call.
using RowCallback = std::function<void(size_t seq, int32_t j, std::span<const float> logits)>;
// Called after the last row of a sequence.
using SequenceDoneCallback = std::function<void(size_t seq)>;
// The final hidden state (llama.cpp's t_embd: after the final norm, the LM head's input) of the row that
// produces output j's logits, i.e. the row that sampled output token j; n_embd values, valid only during the
// call. Called just before the RowCallback of the same row.
using HiddenCallback = std::function<void(size_t seq, int32_t j, std::span<const float> hidden)>;

struct ScoreStats {
    int64_t tokens_evaluated = 0;  // prompt + output tokens fed to the model
    int64_t rows = 0;              // output positions scored
    int32_t decode_calls = 0;
    int32_t slot_moves = 0;  // sequences moved to a lower free slot once none was left to start
};

// Thrown by Scorer::score when its stop check asked llama.cpp to stop a decode part-way.
class ScoreStopped : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Scorer {
public:
    Scorer(const Model &model, const EngineSettings &settings);
    ~Scorer();
    Scorer(const Scorer &) = delete;
    Scorer &operator=(const Scorer &) = delete;

    // Scores `seqs`. Sequences with empty outputs are skipped (on_done is still called). Throws InputError
    // naming the sequence and position for a token id outside the vocabulary or a sequence longer than
    // the context. With `on_hidden`, the hidden states come too (the context then outputs every row).
    ScoreStats score(std::span<const TokenSequence> seqs, const RowCallback &on_row,
                     const SequenceDoneCallback &on_done = {}, const HiddenCallback &on_hidden = {});

    int32_t n_ctx() const { return n_ctx_; }

    // Asked between the steps of a decode (llama.cpp's abort callback, possibly from a worker thread); true
    // abandons the decode and score() throws ScoreStopped. How a caller stops a long run within a fraction of
    // a decode (servers bound a request's engine time with it); the scorer scores normally afterwards. Empty:
    // never stop.
    void set_abort(std::function<bool()> should_abort) { abort_ = std::move(should_abort); }

private:
    static bool abort_requested(void *scorer);

    const Model &model_;
    EngineSettings settings_;
    llama_context *ctx_ = nullptr;
    int32_t n_ctx_ = 0;
    int32_t n_slots_ = 0;      // sequences the context was made for
    bool embeddings_ = false;  // the context returns hidden states
    std::function<bool()> abort_;
};

// Checks a sequence against the model before any work: token ids inside the vocabulary, length within the
// context. Throws InputError("sequence 3, output position 17: token id 99999 is outside the vocabulary ...").
void sequence_check(const TokenSequence &seq, size_t index, int32_t n_vocab, int32_t n_ctx);

}  // namespace difr
