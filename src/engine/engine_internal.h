// Shared between the engine's files; never included outside src/engine.
#pragma once

#include <llama.h>

#include "chat.h"

#include <memory>
#include <string>

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

// Appends one token of one sequence to a batch made by llama_batch_init(n, 0, 1).
inline void engine_batch_add(llama_batch &batch, int32_t token, int32_t pos, int32_t seq, bool logits) {
    const int32_t b = batch.n_tokens++;
    batch.token[b] = token;
    batch.pos[b] = pos;
    batch.n_seq_id[b] = 1;
    batch.seq_id[b][0] = seq;
    batch.logits[b] = logits;
}

// A context for scoring or generation, configured from the settings. `embeddings`: llama.cpp also returns
// the final hidden state (t_embd, the LM head's input) of every output row, beside its logits; it then
// outputs every token of a batch (docs/fingerprints.md measures what that costs).
llama_context *engine_context_make(const Model &model, const EngineSettings &settings, int32_t n_ctx,
                                   int32_t n_seq_max, bool embeddings = false);

}  // namespace difr
