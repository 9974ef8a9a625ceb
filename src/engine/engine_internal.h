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

// A context for scoring or generation, configured from the settings.
llama_context *engine_context_make(const Model &model, const EngineSettings &settings, int32_t n_ctx,
                                   int32_t n_seq_max);

}  // namespace difr
