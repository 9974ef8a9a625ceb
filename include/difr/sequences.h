// Token sequences and the file formats of design.md section 5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace difr {

// "line L, column C" of a byte offset into a text (nlohmann reports offsets; people want lines).
std::string text_line_col(const std::string &text, size_t byte);

// token-difr's TokenSequence.
struct TokenSequence {
    std::vector<int32_t> prompt_token_ids;
    std::vector<int32_t> output_token_ids;
};

enum class SequenceFormat {
    token_difr,  // [{"prompt_token_ids": [...], "output_token_ids": [...]}]
    vllm,  // {"config": {...}, "samples": [{"prompt_token_ids": [...], "outputs": [{"token_ids": [...]}]}]}
};

struct SequenceFile {
    SequenceFormat format = SequenceFormat::token_difr;
    std::vector<TokenSequence> sequences;
    std::string config_json = "{}";  // the vLLM-style "config" object, or "{}"
};

// Reads either format (detected from the top-level JSON value). Throws InputError naming the file and, for a
// bad entry, the sequence index and field; malformed JSON reports line and column.
SequenceFile sequences_read(const std::string &path);
// The same from the file's text; `source` names it in errors.
SequenceFile sequences_parse(const std::string &text, const std::string &source);

// Writes sequences in the given format. For SequenceFormat::vllm, `config_json` becomes the "config" object.
// `output_texts`, when given (one per sequence), is stored beside the ids as "output_text" (readers that
// know only the ids, token-difr's TokenSequence.from_dict among them, ignore it).
void sequences_write(const std::string &path, const std::vector<TokenSequence> &seqs, SequenceFormat format,
                     const std::string &config_json = "{}",
                     const std::vector<std::string> &output_texts = {});

}  // namespace difr
