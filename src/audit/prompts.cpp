#include "difr/prompts.h"

#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"

namespace difr {

namespace {

using json = nlohmann::json;

std::vector<ChatMessage> messages_from_json(const json &v, const std::string &where) {
    const json *list = &v;
    if (v.is_object()) {
        if (v.contains("prompt") && v["prompt"].is_string())
            return {{"user", v["prompt"].get<std::string>()}};
        if (v.contains("messages"))
            list = &v["messages"];
        else if (v.contains("conversation"))
            list = &v["conversation"];
        else
            throw InputError(where +
                             ": expected {\"messages\": [...]}, {\"prompt\": \"...\"} or a message list");
    }
    if (!list->is_array() || list->empty())
        throw InputError(where + ": the conversation must be a non-empty list");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < list->size(); ++i) {
        const json &m = (*list)[i];
        if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
            !m["content"].is_string())
            throw InputError(where + ", message " + std::to_string(i) +
                             ": needs string fields role and content");
        out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    return out;
}

}  // namespace

std::vector<std::vector<ChatMessage>> conversations_read(const std::string &path) {
    return conversations_parse(file_read_text(path, "prompts file"), path);
}

std::vector<std::vector<ChatMessage>> conversations_parse(const std::string &text, const std::string &path) {
    std::vector<std::vector<ChatMessage>> out;
    jsonl_for_each(text, path, [&](const json &v, const std::string &where) {
        out.push_back(messages_from_json(v, where));
    });
    if (out.empty()) throw InputError("prompts file '" + path + "' holds no conversation");
    return out;
}

}  // namespace difr
