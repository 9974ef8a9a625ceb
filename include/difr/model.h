// A GGUF model loaded with llama.cpp, and the engine settings that shape its numerics.
// Only src/engine includes llama.h; this header forward-declares what it needs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct llama_model;

namespace difr {

struct ChatTemplates;  // the GGUF's chat template, parsed by llama.cpp's common library

// Settings that change logits slightly (honest variation, design.md section 4). Recorded with every result.
struct EngineSettings {
    int32_t n_threads = 0;           // 0: all cores
    int32_t n_batch = 512;           // tokens per decode call
    int32_t n_seq_max = 4;           // sequences decoded together
    int32_t n_ctx = 0;               // 0: sized from the inputs
    std::string kv_type = "f16";     // KV cache type for K and V: f32, f16, bf16, q8_0, q4_0, ...
    std::string flash_attn = "off";  // on, off, auto (on the CPU, on makes logits depend on the batch)
    bool repack = true;              // llama.cpp's weight repacking (extra buffer types) on the CPU
    int32_t n_gpu_layers = 0;        // layers offloaded when built with a GPU backend

    int32_t threads() const;
    std::string to_json() const;  // {"n_threads":2,"n_batch":512,...}
};

struct ChatMessage {
    std::string role;
    std::string content;
};

class Model {
public:
    // Loads a GGUF file. Throws InputError naming the file when it cannot be read or is not a model.
    // `vocab_only`: only the vocabulary and metadata (chat template), enough to tokenise; such a model
    // cannot score or generate. Works on full and on vocab-only GGUF files.
    static std::unique_ptr<Model> load(const std::string &path, const EngineSettings &settings,
                                       bool vocab_only = false);
    ~Model();
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    const std::string &path() const { return path_; }
    int32_t n_vocab() const;
    int32_t n_ctx_train() const;
    int32_t n_embd() const;  // hidden size: the width of the final hidden state (the LM head's input)
    std::string description() const;  // llama.cpp's "llama 135M Q4_1"
    bool is_eog(int32_t token) const;
    // The buffer types the weights were loaded into, as llama.cpp names them ("CPU_REPACK", "CPU", "CUDA0"):
    // which matmul kernels run. Empty for a vocab-only model.
    const std::vector<std::string> &weight_buffers() const { return weight_buffers_; }

    std::vector<int32_t> tokenize(const std::string &text, bool add_special, bool parse_special) const;
    std::string detokenize(const std::vector<int32_t> &tokens) const;
    // One token's text as the vocabulary spells it, special tokens included ("<|im_end|>"); may be a
    // partial UTF-8 sequence for byte-level vocabularies.
    std::string token_piece(int32_t token) const;

    // Renders a conversation with the model's own chat template (the GGUF's Jinja template, through
    // llama.cpp's common library) and tokenises it.
    std::string chat_render(const std::vector<ChatMessage> &messages, bool add_generation_prompt) const;
    std::vector<int32_t> chat_tokenize(const std::vector<ChatMessage> &messages) const;

    llama_model *raw() const { return model_; }

private:
    Model() = default;
    std::string path_;
    llama_model *model_ = nullptr;
    std::unique_ptr<ChatTemplates> chat_;
    std::vector<std::string> weight_buffers_;
};

// The machine a result was computed on (JSON object text): {"cpu": brand string, "cpu_features": [...],
// "isa": the ISA level ggml's kernels were built for, "ggml_features": {backend: {feature: value}}}.
std::string engine_machine_json();

}  // namespace difr
