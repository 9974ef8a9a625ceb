// Remote clients over OpenAI-compatible APIs: chat-completion generation (OpenRouter with provider pinning,
// vLLM, llama-server, first-party APIs) and prompt-logprob references in the two wire formats of
// docs/audit.md (Fireworks-style echo, vLLM prompt_logprobs). Requests are built and answers parsed here;
// http.h sends them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "difr/http.h"
#include "difr/model.h"
#include "difr/sampling.h"
#include "difr/topk.h"  // TopkEntry

namespace difr {

// An OpenAI-compatible endpoint: base URL up to and including /v1 (https://openrouter.ai/api/v1).
struct Endpoint {
    std::string base_url;
    std::string model;        // model name as the endpoint knows it
    std::string api_key_env;  // environment variable holding the key; empty: send none
    // The key itself, for library callers that hold it (the Python package takes it from an OpenAI client
    // object); wins over api_key_env. Never stored or printed, like a key read from the environment.
    std::string api_key;
};

// The key to send: endpoint.api_key when set, else the value of api_key_env (InputError naming the variable
// when it is set but missing), else none.
std::string endpoint_api_key(const Endpoint &endpoint);

// --- generation ---

struct ChatRequest {
    std::vector<ChatMessage> messages;
    SamplingParams sampling;  // top_k <= 0 and top_p >= 1 are left out of the request
    bool send_seed = true;
    int32_t max_tokens = 100;
    std::string pin_provider;  // OpenRouter: provider {"only": [pin], "allow_fallbacks": false}; empty: none
    bool logprobs = false;     // ask for per-token logprobs, which carry token ids on some servers
};

struct ChatResponse {
    std::string id;
    std::string model;
    std::string provider;  // OpenRouter's "provider" field; empty when the endpoint does not say
    std::string content;
    std::string reasoning;      // "reasoning" (OpenRouter) or "reasoning_content" (vLLM, DeepSeek)
    std::string finish_reason;  // "length" means the max_tokens limit cut the answer
    std::optional<std::vector<int32_t>> token_ids;  // from logprobs.content when every entry names its id
};

std::string chat_request_json(const ChatRequest &request, const std::string &model);
// Throws RemoteError naming `where` and, for malformed JSON, the byte offset; for a missing field, its path.
ChatResponse chat_response_parse(const std::string &body, const std::string &where);

// The text the model produced: "<think>reasoning</think>content" when reasoning came separately (token-difr's
// encode_thinking_response), else the content.
std::string chat_response_text(const ChatResponse &response);

// OpenRouter names providers by slug in requests ("deepinfra/fp8") and by display name in answers
// ("DeepInfra"): true when `answered` is the provider `pinned` asks for (case and punctuation ignored,
// the "/variant" suffix dropped).
bool provider_matches(const std::string &pinned, const std::string &answered);

// --- prompt-logprob references ---

enum class LogprobWire {
    fireworks_echo,        // echo: true, logprobs: true, top_logprobs: k; rows in choices[0].logprobs.content
    vllm_prompt_logprobs,  // prompt_logprobs: k; choices[0].prompt_logprobs, objects keyed by token id
};

using TopkRow = std::vector<TopkEntry>;  // the k most likely tokens at one position, descending

std::string prompt_logprobs_request_json(LogprobWire wire, const std::string &model,
                                         std::span<const int32_t> tokens, int32_t k);
// Rows [start, start + n) of the answer: the distributions of the tokens at those positions. Entries beyond
// the top k (vLLM adds the actual token) are dropped, so a token outside the top k is -inf as in
// token-difr. Throws RemoteError naming `where` and the row for malformed or short answers, and for a
// Fireworks row whose token_id differs from `tokens` (the server scored something else).
std::vector<TopkRow> prompt_logprobs_parse(LogprobWire wire, const std::string &body,
                                           std::span<const int32_t> tokens, size_t start, size_t n, int32_t k,
                                           const std::string &where);

}  // namespace difr
