#include "difr/jsonl.h"

#include <sstream>

#include "difr/error.h"
#include "difr/sequences.h"

namespace difr {

template <typename Json>
Json json_parse_located(const std::string &text, const std::string &source) {
    try {
        return Json::parse(text);
    } catch (const typename Json::parse_error &e) {
        // e.byte counts the characters read, the offending one included.
        throw InputError(source + ": malformed JSON at " + text_line_col(text, e.byte > 0 ? e.byte - 1 : 0) +
                         ": " + e.what());
    } catch (const typename Json::exception &e) {
        // The parser's other error: a number beyond double's range ("1e999"), which has no position.
        throw InputError(source + ": malformed JSON: " + e.what());
    }
}
template nlohmann::json json_parse_located<nlohmann::json>(const std::string &, const std::string &);
template nlohmann::ordered_json json_parse_located<nlohmann::ordered_json>(const std::string &,
                                                                           const std::string &);

void jsonl_for_each(const std::string &text, const std::string &path,
                    const std::function<void(const nlohmann::json &, const std::string &)> &fn) {
    std::istringstream lines(text);
    std::string line;
    for (size_t n = 1; std::getline(lines, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(n);
        nlohmann::json v;
        try {
            v = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error &e) {
            throw InputError(where + ": malformed JSON at column " + std::to_string(e.byte) + ": " +
                             e.what());
        } catch (const nlohmann::json::exception &e) {  // a number beyond double's range
            throw InputError(where + ": malformed JSON: " + e.what());
        }
        fn(v, where);
    }
}

}  // namespace difr
