#include <llama.h>

#include <algorithm>

#include "difr/error.h"
#include "engine_internal.h"

namespace difr {

ggml_type engine_kv_type(const std::string &name) {
    static const ggml_type types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16,
                                      GGML_TYPE_Q8_0, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
                                      GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_IQ4_NL};
    std::string known;
    for (ggml_type t : types) {
        if (name == ggml_type_name(t)) return t;
        known += known.empty() ? "" : ", ";
        known += ggml_type_name(t);
    }
    throw InputError("unknown KV cache type '" + name + "' (known: " + known + ")");
}

llama_flash_attn_type engine_flash_attn(const std::string &name) {
    if (name == "on") return LLAMA_FLASH_ATTN_TYPE_ENABLED;
    if (name == "off") return LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (name == "auto") return LLAMA_FLASH_ATTN_TYPE_AUTO;
    throw InputError("flash attention must be on, off or auto, got '" + name + "'");
}

llama_context *engine_context_make(const Model &model, const EngineSettings &s, int32_t n_ctx,
                                   int32_t n_seq_max, bool embeddings) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)s.n_batch;
    cp.n_ubatch = (uint32_t)std::min(s.n_batch, 512);
    // llama.cpp reserves at least one output row per sequence inside a batch of n_batch rows.
    cp.n_seq_max = (uint32_t)std::clamp(n_seq_max, 1, std::max(s.n_batch, 1));
    cp.n_threads = s.threads();
    cp.n_threads_batch = s.threads();
    cp.type_k = engine_kv_type(s.kv_type);
    cp.type_v = engine_kv_type(s.kv_type);
    cp.flash_attn_type = engine_flash_attn(s.flash_attn);
    // One KV stream per sequence: a sequence's cells always start at cell 0, so its attention sums run in the
    // same order whatever it is batched with (a unified cache interleaves sequences and changes that order).
    cp.kv_unified = false;
    cp.no_perf = true;
    if (embeddings) {
        cp.embeddings = true;
        cp.pooling_type = LLAMA_POOLING_TYPE_NONE;  // one hidden state per token, not one per sequence
    }
    llama_context *ctx = llama_init_from_model(model.raw(), cp);
    if (!ctx)
        throw InputError("llama.cpp could not create a context for '" + model.path() + "' with " +
                         s.to_json() + " (a quantised KV cache needs flash attention)");
    return ctx;
}

}  // namespace difr
