// Prompt-logprob references, client side: the two wire formats of docs/audit.md (what Fireworks and vLLM
// speak, and what `difr serve` offers over the local engine).
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "difr/remote.h"
#include "json_body.h"

namespace difr {

using json = nlohmann::json;

namespace {

const json &choice0(const json &j, const std::string &where) {
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
        !j["choices"][0].is_object())
        throw RemoteError(where + ": the answer has no choices[0]");
    return j["choices"][0];
}

float logprob_value(const json &v, const std::string &where, size_t row) {
    if (!v.is_number())
        throw RemoteError(where + ": row " + std::to_string(row) + ": a logprob is " + v.type_name() +
                          ", expected a number");
    return v.get<float>();
}

void sort_descending(TopkRow &row) {
    std::stable_sort(row.begin(), row.end(), [](const TopkEntry &a, const TopkEntry &b) {
        return a.logprob > b.logprob || (a.logprob == b.logprob && a.token_id < b.token_id);
    });
}

TopkRow fireworks_row(const json &row, size_t pos, std::span<const int32_t> tokens, int32_t k,
                      const std::string &where) {
    const std::string at = where + ": logprobs.content[" + std::to_string(pos) + "]";
    if (!row.is_object()) throw RemoteError(at + " is " + row.type_name() + ", expected an object");
    if (row.contains("token_id") && row["token_id"].is_number_integer() &&
        row["token_id"].get<int32_t>() != tokens[pos])
        throw RemoteError(at + ": token_id " + std::to_string(row["token_id"].get<int32_t>()) +
                          " differs from the token sent (" + std::to_string(tokens[pos]) +
                          "); the reference scored another sequence");
    if (!row.contains("top_logprobs") || !row["top_logprobs"].is_array())
        throw RemoteError(at + ": top_logprobs is missing or not a list");
    TopkRow out;
    for (const json &e : row["top_logprobs"]) {
        if (!e.is_object() || !e.contains("token_id") || !e["token_id"].is_number_integer() ||
            !e.contains("logprob"))
            throw RemoteError(at + ": a top_logprobs entry lacks an integer token_id or a logprob");
        out.push_back({e["token_id"].get<int32_t>(), logprob_value(e["logprob"], where, pos)});
    }
    sort_descending(out);
    if ((int32_t)out.size() > k) out.resize(k);
    return out;
}

TopkRow vllm_row(const json &row, size_t pos, int32_t k, const std::string &where) {
    const std::string at = where + ": prompt_logprobs[" + std::to_string(pos) + "]";
    if (!row.is_object()) throw RemoteError(at + " is " + row.type_name() + ", expected an object");
    TopkRow out;
    for (const auto &[key, e] : row.items()) {
        char *end = nullptr;
        const long id = std::strtol(key.c_str(), &end, 10);
        if (key.empty() || *end != '\0') throw RemoteError(at + ": key '" + key + "' is not a token id");
        if (!e.is_object() || !e.contains("logprob"))
            throw RemoteError(at + "[\"" + key + "\"]: lacks a logprob");
        // vLLM adds the actual token beside the top k; a rank above k marks it, and token-difr's semantics
        // (outside the top k is -inf) leave it out.
        if (e.contains("rank") && e["rank"].is_number_integer() && e["rank"].get<int64_t>() > k) continue;
        out.push_back({(int32_t)id, logprob_value(e["logprob"], where, pos)});
    }
    sort_descending(out);
    if ((int32_t)out.size() > k) out.resize(k);
    return out;
}

}  // namespace

std::string prompt_logprobs_request_json(LogprobWire wire, const std::string &model,
                                         std::span<const int32_t> tokens, int32_t k) {
    json j = {
        {"model", model}, {"prompt", std::vector<int32_t>(tokens.begin(), tokens.end())}, {"max_tokens", 1}};
    if (wire == LogprobWire::fireworks_echo) {
        j["echo"] = true;
        j["logprobs"] = true;
        j["top_logprobs"] = k;
    } else {
        j["prompt_logprobs"] = k;
    }
    return j.dump();
}

std::vector<TopkRow> prompt_logprobs_parse(LogprobWire wire, const std::string &body,
                                           std::span<const int32_t> tokens, size_t start, size_t n, int32_t k,
                                           const std::string &where) {
    const json j = json_body_parse(body, where);
    if (j.is_object() && j.contains("error") && !j["error"].is_null())
        throw RemoteError(where + ": the answer is an error: " + j["error"].dump().substr(0, 300));
    const json &c = choice0(j, where);
    const json *rows = nullptr;
    if (wire == LogprobWire::fireworks_echo) {
        if (c.contains("logprobs") && c["logprobs"].is_object() && c["logprobs"].contains("content"))
            rows = &c["logprobs"]["content"];
        if (!rows || !rows->is_array())
            throw RemoteError(where +
                              ": choices[0].logprobs.content is missing (does the endpoint support echo?)");
    } else {
        if (c.contains("prompt_logprobs")) rows = &c["prompt_logprobs"];
        if (!rows || !rows->is_array())
            throw RemoteError(where +
                              ": choices[0].prompt_logprobs is missing (does the endpoint support it?)");
    }
    if (rows->size() < start + n)
        throw RemoteError(where + ": " + std::to_string(rows->size()) + " logprob rows, expected at least " +
                          std::to_string(start + n) + " (" + std::to_string(start) + " prompt + " +
                          std::to_string(n) + " output tokens)");
    std::vector<TopkRow> out;
    out.reserve(n);
    for (size_t pos = start; pos < start + n; ++pos) {
        const json &row = (*rows)[pos];
        out.push_back(wire == LogprobWire::fireworks_echo ? fireworks_row(row, pos, tokens, k, where)
                                                          : vllm_row(row, pos, k, where));
    }
    return out;
}

}  // namespace difr
