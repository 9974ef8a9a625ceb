// JSON Lines: one JSON value per line, blank lines skipped.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace difr {

// Calls fn(value, "PATH:LINE") for each non-blank line of `text` (the contents of the file `path`), in order.
// A line that is not JSON throws InputError "PATH:LINE: malformed JSON at column C: ...".
void jsonl_for_each(const std::string &text, const std::string &path,
                    const std::function<void(const nlohmann::json &, const std::string &)> &fn);

}  // namespace difr
