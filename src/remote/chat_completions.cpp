// Chat completions: request bodies and the parsing of answers from OpenRouter, vLLM and llama-server.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "difr/remote.h"
#include "json_body.h"

namespace difr {

using json = nlohmann::json;

namespace {

// An optional string field: absent and null read as "", anything else must be a string.
std::string string_field(const json &obj, const char *name, const std::string &where,
                         const std::string &path) {
    if (!obj.contains(name) || obj[name].is_null()) return "";
    if (!obj[name].is_string())
        throw RemoteError(where + ": " + path + "." + name + " is " + obj[name].type_name() +
                          ", expected a string");
    return obj[name].get<std::string>();
}

// The id of one logprobs.content entry: "id" (llama-server), "token_id" (Fireworks), or vLLM's
// "token_id:123" token strings (return_tokens_as_token_ids).
std::optional<int32_t> entry_token_id(const json &e) {
    if (!e.is_object()) return std::nullopt;
    for (const char *k : {"id", "token_id"})
        if (e.contains(k) && e[k].is_number_integer()) return e[k].get<int32_t>();
    if (e.contains("token") && e["token"].is_string()) {
        const std::string t = e["token"].get<std::string>();
        constexpr const char kPrefix[] = "token_id:";
        if (t.rfind(kPrefix, 0) == 0 && t.size() > sizeof kPrefix - 1 &&
            std::all_of(t.begin() + sizeof kPrefix - 1, t.end(),
                        [](unsigned char c) { return std::isdigit(c); }))
            return std::stoi(t.substr(sizeof kPrefix - 1));
    }
    return std::nullopt;
}

std::string normalise_provider(std::string s) {
    if (const size_t slash = s.find('/'); slash != std::string::npos) s.resize(slash);
    std::string out;
    for (unsigned char c : s)
        if (std::isalnum(c)) out += (char)std::tolower(c);
    return out;
}

}  // namespace

std::string chat_request_json(const ChatRequest &r, const std::string &model) {
    json messages = json::array();
    for (const ChatMessage &m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json j = {{"model", model},
              {"messages", messages},
              {"max_tokens", r.max_tokens},
              {"temperature", r.sampling.temperature}};
    if (r.sampling.top_p < 1.0f) j["top_p"] = r.sampling.top_p;
    if (r.sampling.top_k > 0) j["top_k"] = r.sampling.top_k;
    if (r.send_seed) j["seed"] = r.sampling.seed;
    if (r.logprobs) j["logprobs"] = true;
    if (!r.pin_provider.empty())
        j["provider"] = {{"only", json::array({r.pin_provider})}, {"allow_fallbacks", false}};
    return j.dump();
}

ChatResponse chat_response_parse(const std::string &body, const std::string &where) {
    const json j = json_body_parse(body, where);
    if (!j.is_object())
        throw RemoteError(where + ": the answer is " + j.type_name() + ", expected an object");
    if (j.contains("error") && !j["error"].is_null())
        throw RemoteError(where + ": the answer is an error: " + j["error"].dump().substr(0, 300));
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
        throw RemoteError(where + ": the answer has no choices[0]");
    const json &choice = j["choices"][0];
    if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object())
        throw RemoteError(where + ": choices[0].message is missing or not an object");
    const json &msg = choice["message"];

    ChatResponse r;
    r.id = string_field(j, "id", where, "");
    r.model = string_field(j, "model", where, "");
    r.provider = string_field(j, "provider", where, "");
    r.content = string_field(msg, "content", where, "choices[0].message");
    r.reasoning = string_field(msg, "reasoning", where, "choices[0].message");
    if (r.reasoning.empty())
        r.reasoning = string_field(msg, "reasoning_content", where, "choices[0].message");
    r.finish_reason = string_field(choice, "finish_reason", where, "choices[0]");

    if (choice.contains("logprobs") && choice["logprobs"].is_object() &&
        choice["logprobs"].contains("content") && choice["logprobs"]["content"].is_array()) {
        std::vector<int32_t> ids;
        bool all = true;
        for (const json &e : choice["logprobs"]["content"]) {
            auto id = entry_token_id(e);
            if (!id) {
                all = false;
                break;
            }
            ids.push_back(*id);
        }
        if (all) r.token_ids = std::move(ids);
    }
    return r;
}

std::string chat_response_text(const ChatResponse &r) {
    if (r.reasoning.empty()) return r.content;
    return "<think>" + r.reasoning + "</think>" + r.content;
}

bool provider_matches(const std::string &pinned, const std::string &answered) {
    return !answered.empty() && normalise_provider(pinned) == normalise_provider(answered);
}

}  // namespace difr

namespace difr {

std::string endpoint_api_key(const Endpoint &endpoint) {
    if (!endpoint.api_key.empty()) return endpoint.api_key;
    return endpoint.api_key_env.empty() ? "" : api_key_from_env(endpoint.api_key_env);
}

}  // namespace difr
