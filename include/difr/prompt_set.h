// Prompt sets for audits, built like token-difr's construct_prompts from conversation datasets in
// ShareGPT, LMSYS-Chat or WildChat shape. Output: JSONL of {"messages": [...]}, what `difr generate
// --prompts` reads. See docs/prompts.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "difr/model.h"

namespace difr {

// One dataset record, roles already mapped to user / assistant / system ("" for a role difr does not know).
struct PromptRecord {
    std::vector<ChatMessage> messages;
    std::optional<std::string> language;  // "language" (LMSYS, WildChat) or "lang" when the record has one
    std::string where;                    // "file:line" or "file: entry N", for messages
};

// Reads JSONL (one record per line) or a JSON array of records. Shapes accepted per record:
//   ShareGPT  {"conversations": [{"from": "human"|"gpt"|"system", "value": "..."}]}
//   LMSYS / WildChat  {"conversation": [{"role": "user"|"assistant", "content": "..."}], "language":
//   "English"} difr  {"messages": [{"role", "content"}]}
// Throws InputError naming the file and line (or entry) for malformed JSON or a record of none of these
// shapes (missing list, a message without its role/text fields, a non-string role or text). A null text
// reads as an empty turn (filtered later, not an error).
std::vector<PromptRecord> prompt_records_read(const std::string &path);
// The same from the file's text; `source` names it in errors.
std::vector<PromptRecord> prompt_records_parse(const std::string &text, const std::string &source);

struct PromptSetOptions {
    size_t limit = 0;                      // -n: keep at most this many (0: all)
    int32_t max_tokens = 512;              // chat-templated length limit, system prompt included (0: none)
    std::string system;                    // prepended to conversations that have no system turn ("": none)
    bool english_only = true;              // drop records whose language field says otherwise
    std::optional<uint64_t> shuffle_seed;  // seeded Fisher-Yates over the records before selection
};

// What each filter removed; kept + the rest = read.
struct PromptSetStats {
    size_t read = 0, not_english = 0, unknown_role = 0, no_user_turn = 0, empty_turn = 0, too_long = 0,
           duplicate = 0, template_error = 0, kept = 0;
    std::string describe() const;  // "read 10, kept 4; not English 2, ..."
};

using ChatTokenizer = std::function<std::vector<int32_t>(const std::vector<ChatMessage> &)>;

// token-difr's filter, in order: language (when the record has one) must be English; trailing assistant
// turns are dropped so the conversation ends with a user turn (none left: dropped); any empty or
// whitespace-only turn drops the conversation; the system prompt is prepended; the conversation,
// tokenised with the model's chat template (`tokenize`, e.g. Model::chat_tokenize) must fit in max_tokens;
// token-identical conversations are kept once. Stops at `limit`. A tokenizer exception (a template that
// rejects the roles) drops that conversation and is counted.
std::vector<std::vector<ChatMessage>> prompt_set_build(const std::vector<PromptRecord> &records,
                                                       const PromptSetOptions &options,
                                                       const ChatTokenizer &tokenize, PromptSetStats &stats);

// Writes one {"messages": [...]} object per line (atomically: a temporary file renamed into place).
void prompt_set_write(const std::string &path, const std::vector<std::vector<ChatMessage>> &conversations);

}  // namespace difr
