// Prompt sets: conversations read from JSONL, one per line (the input of `difr generate` and the lab).
#pragma once

#include <string>
#include <vector>

#include "difr/model.h"

namespace difr {

// Each line is {"messages": [{"role": ..., "content": ...}, ...]}, {"conversation": [...]}, {"prompt": "..."}
// (one user message) or a bare message list; blank lines are skipped. Throws InputError naming the file, line
// and, for a bad message, its index.
std::vector<std::vector<ChatMessage>> conversations_read(const std::string &path);
// The same from the file's text; `source` names it in errors.
std::vector<std::vector<ChatMessage>> conversations_parse(const std::string &text, const std::string &source);

}  // namespace difr
