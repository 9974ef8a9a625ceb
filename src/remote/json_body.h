// Shared between the remote clients; never included outside src/remote.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "difr/http.h"

namespace difr {

// Parses an answer body. Throws RemoteError naming `where` and the byte where the JSON broke, or saying that
// the body ends in the middle of the JSON (a truncated answer).
inline nlohmann::json json_body_parse(const std::string &body, const std::string &where) {
    try {
        return nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error &e) {
        if (e.byte > body.size())
            throw RemoteError(where + ": the JSON answer is truncated: it ends after " +
                              std::to_string(body.size()) + " bytes in the middle of a value (" + e.what() +
                              ")");
        throw RemoteError(where + ": malformed JSON in the answer at byte " + std::to_string(e.byte) +
                          " of " + std::to_string(body.size()) + " (" + e.what() +
                          "); body starts: " + body.substr(0, 200));
    } catch (const nlohmann::json::exception &e) {  // a number beyond double's range ("1e999")
        throw RemoteError(where + ": malformed JSON in the answer (" + std::string(e.what()) +
                          "); body starts: " + body.substr(0, 200));
    }
}

}  // namespace difr
