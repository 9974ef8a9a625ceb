#include "tiny_model.h"

#include <ggml.h>
#include <gguf.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>

namespace difr::test {

namespace {

const char *const kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary

const char *const kWords[] = {"the",   "and",   "of",   "to",   "in",    "is",     "hello", "world",
                              "model", "token", "test", "difr", "llama", "verify", "score", "batch"};

// llama.cpp's token types (llama_token_type in llama.h, as the GGUF stores them).
enum : int32_t { kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeByte = 6 };

int32_t token_type(int32_t id) {
    if (id == kTinyUnk) return kTypeUnknown;
    if (id == kTinyBos || id == kTinyEos) return kTypeControl;
    if (id >= kTinyFirstByte && id < kTinyFirstByte + 256) return kTypeByte;
    return kTypeNormal;
}

std::vector<std::string> base_vocab() {
    std::vector<std::string> v = {"<unk>", "<s>", "</s>"};
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        v.emplace_back(buf);
    }
    std::set<std::string> seen;
    auto add = [&](const std::string &piece) {
        if (seen.insert(piece).second) v.push_back(piece);
    };
    add(kSpace);
    for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c));
    for (char c = 'a'; c <= 'z'; ++c) add(kSpace + std::string(1, c));
    // Every prefix of a word is a piece, so SentencePiece's pairwise merges can reach the whole word.
    for (const char *w : kWords) {
        const std::string word = w;
        for (size_t n = 2; n <= word.size(); ++n) add(kSpace + word.substr(0, n));
    }
    return v;
}

// Uniform with the given standard deviation, from the raw bits of mt19937 (whose sequence the standard fixes,
// unlike the distributions').
struct WeightRng {
    std::mt19937 gen;
    explicit WeightRng(uint32_t seed) : gen(seed) {}
    float next(float std_dev) {
        const float u = (float)(gen() >> 8) * (1.0f / 16777216.0f);  // [0, 1)
        return (2.0f * u - 1.0f) * std_dev * std::sqrt(3.0f);
    }
};

}  // namespace

int32_t tiny_model_base_vocab() {
    return (int32_t)base_vocab().size();
}

std::vector<std::string> tiny_model_vocab(int32_t n_vocab) {
    std::vector<std::string> v = base_vocab();
    if (n_vocab < (int32_t)v.size())
        throw std::invalid_argument("tiny model: n_vocab " + std::to_string(n_vocab) + " is below the base " +
                                    std::to_string(v.size()));
    std::set<std::string> seen(v.begin(), v.end());
    for (char a = 'a'; a <= 'z' && (int32_t)v.size() < n_vocab; ++a)
        for (char b = 'a'; b <= 'z' && (int32_t)v.size() < n_vocab; ++b) {
            const std::string piece{a, b};
            if (seen.insert(piece).second) v.push_back(piece);
        }
    if ((int32_t)v.size() < n_vocab)
        throw std::invalid_argument("tiny model: n_vocab " + std::to_string(n_vocab) + " is too large");
    return v;
}

void tiny_model_write(const std::string &path, const TinyModelSpec &spec) {
    const std::vector<std::string> vocab = tiny_model_vocab(spec.n_vocab);
    const int64_t n_vocab = spec.n_vocab, n_embd = spec.n_embd, n_ff = spec.n_ff;
    const int64_t head_dim = n_embd / spec.n_head;
    const int64_t n_embd_q = head_dim * spec.n_head, n_embd_kv = head_dim * spec.n_head_kv;

    gguf_context *gguf = gguf_init_empty();
    gguf_set_val_str(gguf, "general.architecture", "llama");
    gguf_set_val_str(gguf, "general.name", "difr-tiny");
    gguf_set_val_u32(gguf, "general.file_type", 0);  // LLAMA_FTYPE_ALL_F32
    gguf_set_val_u32(gguf, "llama.vocab_size", (uint32_t)n_vocab);
    gguf_set_val_u32(gguf, "llama.context_length", (uint32_t)spec.n_ctx_train);
    gguf_set_val_u32(gguf, "llama.embedding_length", (uint32_t)n_embd);
    gguf_set_val_u32(gguf, "llama.block_count", (uint32_t)spec.n_layer);
    gguf_set_val_u32(gguf, "llama.feed_forward_length", (uint32_t)n_ff);
    gguf_set_val_u32(gguf, "llama.attention.head_count", (uint32_t)spec.n_head);
    gguf_set_val_u32(gguf, "llama.attention.head_count_kv", (uint32_t)spec.n_head_kv);
    gguf_set_val_f32(gguf, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_set_val_u32(gguf, "llama.rope.dimension_count", (uint32_t)head_dim);
    gguf_set_val_f32(gguf, "llama.rope.freq_base", 10000.0f);

    std::vector<const char *> texts;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (int32_t id = 0; id < (int32_t)vocab.size(); ++id) {
        texts.push_back(vocab[id].c_str());
        types.push_back(token_type(id));
        // SentencePiece merges the highest-scoring pair first: later (longer) pieces score higher.
        scores.push_back(types.back() == kTypeNormal ? -1000.0f + 0.5f * (float)id : 0.0f);
    }
    gguf_set_val_str(gguf, "tokenizer.ggml.model", "llama");
    gguf_set_arr_str(gguf, "tokenizer.ggml.tokens", texts.data(), texts.size());
    gguf_set_arr_data(gguf, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores.data(), scores.size());
    gguf_set_arr_data(gguf, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
    gguf_set_val_u32(gguf, "tokenizer.ggml.unknown_token_id", kTinyUnk);
    gguf_set_val_u32(gguf, "tokenizer.ggml.bos_token_id", kTinyBos);
    gguf_set_val_u32(gguf, "tokenizer.ggml.eos_token_id", kTinyEos);
    gguf_set_val_bool(gguf, "tokenizer.ggml.add_bos_token", true);
    gguf_set_val_bool(gguf, "tokenizer.ggml.add_eos_token", false);

    struct TensorDef {
        std::string name;
        int64_t ne0, ne1;  // ne1 == 0: a vector
        float std_dev;     // < 0: a norm weight, 1 + noise of that size
    };
    const float in_std = 1.0f / std::sqrt((float)n_embd);
    std::vector<TensorDef> defs = {{"token_embd.weight", n_embd, n_vocab, 1.0f},
                                   {"output_norm.weight", n_embd, 0, -0.1f},
                                   {"output.weight", n_embd, n_vocab, spec.out_std}};
    for (int32_t il = 0; il < spec.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        defs.push_back({b + "attn_norm.weight", n_embd, 0, -0.1f});
        // Large query/key weights make attention sharp enough that the context matters.
        defs.push_back({b + "attn_q.weight", n_embd, n_embd_q, 2.0f * in_std});
        defs.push_back({b + "attn_k.weight", n_embd, n_embd_kv, 2.0f * in_std});
        defs.push_back({b + "attn_v.weight", n_embd, n_embd_kv, in_std});
        defs.push_back({b + "attn_output.weight", n_embd_q, n_embd, 1.0f / std::sqrt((float)n_embd_q)});
        defs.push_back({b + "ffn_norm.weight", n_embd, 0, -0.1f});
        defs.push_back({b + "ffn_gate.weight", n_embd, n_ff, in_std});
        defs.push_back({b + "ffn_up.weight", n_embd, n_ff, in_std});
        defs.push_back({b + "ffn_down.weight", n_ff, n_embd, 1.0f / std::sqrt((float)n_ff)});
    }

    size_t bytes = 0;
    for (const TensorDef &d : defs) bytes += (size_t)(d.ne0 * std::max<int64_t>(d.ne1, 1)) * sizeof(float);
    ggml_init_params ip = {bytes + defs.size() * (ggml_tensor_overhead() + 64) + 1024, nullptr, false};
    ggml_context *ctx = ggml_init(ip);
    if (!ctx) {
        gguf_free(gguf);
        throw std::runtime_error("tiny model: ggml_init failed");
    }
    WeightRng rng(spec.seed);
    for (const TensorDef &d : defs) {
        ggml_tensor *t = d.ne1 > 0 ? ggml_new_tensor_2d(ctx, GGML_TYPE_F32, d.ne0, d.ne1)
                                   : ggml_new_tensor_1d(ctx, GGML_TYPE_F32, d.ne0);
        ggml_set_name(t, d.name.c_str());
        float *data = (float *)t->data;
        const int64_t n = ggml_nelements(t);
        for (int64_t i = 0; i < n; ++i)
            data[i] = d.std_dev < 0 ? 1.0f + rng.next(-d.std_dev) : rng.next(d.std_dev);
        gguf_add_tensor(gguf, t);
    }
    const bool ok = gguf_write_to_file(gguf, path.c_str(), false);
    gguf_free(gguf);
    ggml_free(ctx);
    if (!ok) throw std::runtime_error("tiny model: could not write '" + path + "'");
}

}  // namespace difr::test
