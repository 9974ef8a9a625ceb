#include "difr/scorer.h"

#include <llama.h>

#include <algorithm>
#include <deque>
#include <string>

#include "difr/error.h"
#include "engine_internal.h"

namespace difr {

namespace {

// Tokens fed for a sequence: the prompt, then every output token but the last (whose successor nobody asks
// about). Position k's logits predict output k - (P - 1).
int32_t fed_length(const TokenSequence &s) {
    return (int32_t)(s.prompt_token_ids.size() + s.output_token_ids.size()) - 1;
}

int32_t fed_token(const TokenSequence &s, int32_t k) {
    const int32_t P = (int32_t)s.prompt_token_ids.size();
    return k < P ? s.prompt_token_ids[k] : s.output_token_ids[k - P];
}

struct Slot {
    size_t seq = 0;
    int32_t next = 0;  // next position to feed
    int32_t end = 0;   // fed length
    bool busy = false;
};

}  // namespace

void sequence_check(const TokenSequence &seq, size_t index, int32_t n_vocab, int32_t n_ctx) {
    const std::string where = "sequence " + std::to_string(index);
    if (seq.prompt_token_ids.empty() && !seq.output_token_ids.empty())
        throw InputError(where +
                         ": the prompt is empty; the first output token needs at least one prompt token");
    auto check_ids = [&](const std::vector<int32_t> &ids, const char *part) {
        for (size_t k = 0; k < ids.size(); ++k) {
            if (ids[k] < 0 || ids[k] >= n_vocab)
                throw InputError(where + ", " + part + " position " + std::to_string(k) + ": token id " +
                                 std::to_string(ids[k]) + " is outside the model's vocabulary [0, " +
                                 std::to_string(n_vocab) + ") — was it tokenised for another model?");
        }
    };
    check_ids(seq.prompt_token_ids, "prompt");
    check_ids(seq.output_token_ids, "output");
    const size_t total = seq.prompt_token_ids.size() + seq.output_token_ids.size();
    if (!seq.output_token_ids.empty() && total - 1 > (size_t)n_ctx) {
        const int64_t P = (int64_t)seq.prompt_token_ids.size();
        const int64_t first_out = std::max<int64_t>(0, (int64_t)n_ctx - P + 1);
        throw InputError(
            where + ": " + std::to_string(P) + " prompt + " + std::to_string(seq.output_token_ids.size()) +
            " output tokens exceed the context of " + std::to_string(n_ctx) + " tokens (output position " +
            std::to_string(first_out) + " is the first that does not fit); shorten it or raise --ctx");
    }
}

Scorer::Scorer(const Model &model, const EngineSettings &settings) : model_(model), settings_(settings) {
    settings_.n_batch = std::max(settings_.n_batch, 1);
    settings_.n_seq_max = std::clamp(settings_.n_seq_max, 1, 256);
}

Scorer::~Scorer() {
    if (ctx_) llama_free(ctx_);
}

bool Scorer::abort_requested(void *scorer) {
    const Scorer *self = static_cast<const Scorer *>(scorer);
    return self->abort_ && self->abort_();
}

ScoreStats Scorer::score(std::span<const TokenSequence> seqs, const RowCallback &on_row,
                         const SequenceDoneCallback &on_done, const HiddenCallback &on_hidden) {
    const int32_t n_vocab = model_.n_vocab();
    const int32_t limit = settings_.n_ctx > 0 ? settings_.n_ctx : model_.n_ctx_train();
    int32_t longest = 1;
    std::deque<size_t> pending;
    for (size_t i = 0; i < seqs.size(); ++i) {
        sequence_check(seqs[i], i, n_vocab, limit);
        if (!seqs[i].output_token_ids.empty()) {
            longest = std::max(longest, fed_length(seqs[i]));
            pending.push_back(i);
        }
    }
    ScoreStats stats;
    for (size_t i = 0; i < seqs.size(); ++i)  // nothing to score: done at once
        if (seqs[i].output_token_ids.empty() && on_done) on_done(i);
    if (pending.empty()) return stats;

    // The cache holds every active sequence whole; it is sized by the longest sequence, not by their number.
    const int32_t n_slots =
        std::min<int32_t>({settings_.n_seq_max, settings_.n_batch, (int32_t)pending.size()});
    const int32_t needed = ((n_slots * longest + 255) / 256) * 256;
    const bool embeddings = bool(on_hidden);
    if (!ctx_ || n_ctx_ < needed || n_slots_ < n_slots || embeddings_ != embeddings) {
        if (ctx_) llama_free(ctx_);
        ctx_ = nullptr;
        ctx_ = engine_context_make(model_, settings_, needed, n_slots, embeddings);
        n_ctx_ = (int32_t)llama_n_ctx(ctx_);
        n_slots_ = n_slots;
        embeddings_ = embeddings;
        llama_set_abort_callback(ctx_, &Scorer::abort_requested, this);
    }
    const size_t n_embd = (size_t)model_.n_embd();
    llama_memory_t mem = llama_get_memory(ctx_);
    llama_memory_clear(mem, true);

    std::vector<Slot> slots(n_slots);
    llama_batch batch = llama_batch_init(settings_.n_batch, 0, 1);
    struct Out {
        size_t seq;
        int32_t j;
    };
    std::vector<Out> outs;
    try {
        for (;;) {
            for (int32_t s = 0; s < n_slots; ++s) {
                if (slots[s].busy || pending.empty()) continue;
                const size_t seq = pending.front();
                pending.pop_front();
                slots[s] = Slot{seq, 0, fed_length(seqs[seq]), true};
            }
            batch.n_tokens = 0;
            outs.clear();
            for (int32_t s = 0; s < n_slots && batch.n_tokens < settings_.n_batch; ++s) {
                Slot &slot = slots[s];
                if (!slot.busy) continue;
                const TokenSequence &ts = seqs[slot.seq];
                const int32_t first_out = (int32_t)ts.prompt_token_ids.size() - 1;
                const int32_t take = std::min(slot.end - slot.next, settings_.n_batch - batch.n_tokens);
                for (int32_t k = slot.next; k < slot.next + take; ++k) {
                    engine_batch_add(batch, fed_token(ts, k), k, s, k >= first_out);
                    outs.push_back({slot.seq, k - first_out});
                }
                slot.next += take;
            }
            if (batch.n_tokens == 0) break;

            const int32_t rc = llama_decode(ctx_, batch);
            if (rc == 2) throw ScoreStopped("scoring stopped by its abort check");
            if (rc != 0)
                throw std::runtime_error("llama_decode failed with status " + std::to_string(rc) +
                                         " (context " + std::to_string(n_ctx_) + " tokens, batch " +
                                         std::to_string(batch.n_tokens) + ")");
            ++stats.decode_calls;
            stats.tokens_evaluated += batch.n_tokens;

            for (int32_t b = 0; b < batch.n_tokens; ++b) {
                if (!batch.logits[b]) continue;
                if (on_hidden) {
                    const float *h = llama_get_embeddings_ith(ctx_, b);
                    if (!h) throw std::runtime_error("llama.cpp returned no hidden state for a scored row");
                    on_hidden(outs[b].seq, outs[b].j, std::span<const float>(h, n_embd));
                }
                const float *row = llama_get_logits_ith(ctx_, b);
                on_row(outs[b].seq, outs[b].j, std::span<const float>(row, (size_t)n_vocab));
                ++stats.rows;
            }
            for (int32_t s = 0; s < n_slots; ++s) {
                Slot &slot = slots[s];
                if (!slot.busy || slot.next < slot.end) continue;
                llama_memory_seq_rm(mem, s, -1, -1);
                slot.busy = false;
                if (on_done) on_done(slot.seq);
            }
            if (pending.empty()) {
                // Keep the busy slots at 0..n-1: llama.cpp's ubatches hold consecutive sequence ids only.
                std::vector<bool> busy(slots.size());
                for (size_t k = 0; k < slots.size(); ++k) busy[k] = slots[k].busy;
                for (const auto &[from, to] : engine_slots_compact(mem, busy)) {
                    slots[to] = slots[from];
                    slots[from] = Slot{};
                    ++stats.slot_moves;
                }
            }
        }
    } catch (...) {
        llama_batch_free(batch);
        throw;
    }
    llama_batch_free(batch);
    return stats;
}

}  // namespace difr
