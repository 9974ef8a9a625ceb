// Reading JSON documents and JSON Lines (one JSON value per line, blank lines skipped) with located errors.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace difr {

// Calls fn(value, "PATH:LINE") for each non-blank line of `text` (the contents of the file `path`), in order.
// A line that is not JSON throws InputError "PATH:LINE: malformed JSON at column C: ...".
// Parses a whole JSON document (Json: nlohmann::json or nlohmann::ordered_json); malformed JSON throws
// InputError "SOURCE: malformed JSON at line L, column C: ...".
template <typename Json = nlohmann::json>
Json json_parse_located(const std::string &text, const std::string &source);

void jsonl_for_each(const std::string &text, const std::string &path,
                    const std::function<void(const nlohmann::json &, const std::string &)> &fn);

}  // namespace difr
