// Shared between the engine's files; never included outside src/engine.
#pragma once

#include <llama.h>

#include "chat.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "difr/model.h"

namespace difr {

void engine_init();  // llama.cpp backend and logging, once per process
std::string engine_backend_name();

struct ChatTemplates {
    common_chat_templates_ptr templates;
};
std::unique_ptr<ChatTemplates> chat_templates_init(const llama_model *model);

ggml_type engine_kv_type(const std::string &name);                 // throws InputError for an unknown type
llama_flash_attn_type engine_flash_attn(const std::string &name);  // on, off, auto
bool engine_kernels_difr(const std::string &name);                 // difr: true, ggml: false

// Appends one token of one sequence to a batch made by llama_batch_init(n, 0, 1).
inline void engine_batch_add(llama_batch &batch, int32_t token, int32_t pos, int32_t seq, bool logits) {
    const int32_t b = batch.n_tokens++;
    batch.token[b] = token;
    batch.pos[b] = pos;
    batch.n_seq_id[b] = 1;
    batch.seq_id[b][0] = seq;
    batch.logits[b] = logits;
}

// The evaluation callback that routes the matrix products difr's kernels cover to them (graph_rewrite.cpp).
bool engine_graph_rewrite(ggml_tensor *t, bool ask, void *user_data);

// Moves the sequences of the highest busy slots into the free slots below them, so that the busy ones are
// 0..n-1: llama.cpp's ubatches hold consecutive sequence ids only (one KV stream per sequence). A move copies
// the whole stream, cells in place (llama_memory_seq_cp), so the moved sequence's attention sums run exactly
// as before. Returns the moves (from, to) for the caller's own slot state; `busy` is updated.
std::vector<std::pair<int32_t, int32_t>> engine_slots_compact(llama_memory_t mem, std::vector<bool> &busy);

// A context for scoring or generation, configured from the settings. `embeddings`: llama.cpp also returns
// the final hidden state (t_embd, the LM head's input) of every output row, beside its logits; it then
// outputs every token of a batch (docs/fingerprints.md measures what that costs).
llama_context *engine_context_make(const Model &model, const EngineSettings &settings, int32_t n_ctx,
                                   int32_t n_seq_max, bool embeddings = false);

}  // namespace difr
