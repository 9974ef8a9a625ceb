// A tiny random llama-architecture model that the engine tests write themselves with ggml's gguf API, so they
// need no download and run in well under a second per test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace difr::test {

// Shape and seed of the model. Every row length (n_embd, n_ff, n_embd / n_head * n_head) must be a multiple
// of 32 for the model to be quantisable to Q8_0/Q4_0.
struct TinyModelSpec {
    int32_t n_vocab = 512;  // at least tiny_model_base_vocab(); padded with two-letter pieces
    int32_t n_embd = 64;
    int32_t n_head = 4;
    int32_t n_head_kv = 2;
    int32_t n_layer = 2;
    int32_t n_ff = 128;
    int32_t n_ctx_train = 256;
    uint32_t seed = 20240611;
    // Standard deviation of the output projection; with RMS-normalised hidden states the logits have a
    // standard deviation of about out_std * sqrt(n_embd).
    float out_std = 0.3f;
};

// Token ids of the SentencePiece ("llama") vocabulary every tiny model carries.
inline constexpr int32_t kTinyUnk = 0;
inline constexpr int32_t kTinyBos = 1;
inline constexpr int32_t kTinyEos = 2;
inline constexpr int32_t kTinyFirstByte = 3;  // <0x00> .. <0xFF> follow

// The vocabulary: <unk>, <s>, </s>, the 256 byte tokens, "▁", letters, "▁" + letter, a few words with all
// their prefixes, then two-letter pieces up to n_vocab. Throws std::invalid_argument if n_vocab is too small.
std::vector<std::string> tiny_model_vocab(int32_t n_vocab);
int32_t tiny_model_base_vocab();  // the vocabulary size before padding

// Writes the model as a GGUF file of F32 tensors. Deterministic: the same spec gives the same bytes.
// Throws std::runtime_error when the file cannot be written.
void tiny_model_write(const std::string &path, const TinyModelSpec &spec);

}  // namespace difr::test
