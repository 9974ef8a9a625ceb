// The request logic of difr serve: parse and check a completions request, score its prompt with the engine,
// and build the Fireworks-style echo rows and vLLM's prompt_logprobs (docs/serve.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "difr/error.h"
#include "difr/server.h"
#include "difr/topk.h"
#include "engine_turn.h"

namespace difr {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// A bad request: the HTTP status, the message and the field it concerns (OpenAI's "param").
struct RequestError {
    int status;
    std::string message;
    std::string param;
};

struct CompletionRequest {
    std::vector<int32_t> prompt;
    bool echo = false;
    bool logprobs = false;         // Fireworks/OpenAI "content" rows wanted
    int32_t top_logprobs = 0;      // entries per content row
    int32_t prompt_logprobs = -1;  // vLLM; < 0: not asked for
};

std::string type_name(const json &v) {
    return v.is_number_float() ? "number" : v.type_name();
}

int32_t int_field(const json &req, const char *name, int32_t lo, int32_t hi) {
    const json &v = req.at(name);
    if (!v.is_number_integer())
        throw RequestError{400, std::string(name) + ": expected an integer, got " + type_name(v), name};
    const int64_t x =
        v.is_number_unsigned() ? (int64_t)std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX) : v.get<int64_t>();
    if (x < lo || x > hi)
        throw RequestError{400,
                           std::string(name) + ": " + std::to_string(x) + " is outside [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "]",
                           name};
    return (int32_t)x;
}

bool bool_field(const json &req, const char *name) {
    const json &v = req.at(name);
    if (!v.is_boolean())
        throw RequestError{400, std::string(name) + ": expected true or false, got " + type_name(v), name};
    return v.get<bool>();
}

CompletionRequest request_parse(const std::string &body, int32_t n_vocab, int32_t n_ctx, int32_t max_top) {
    json req;
    try {
        req = json::parse(body);
    } catch (const json::exception &e) {  // parse errors, and numbers beyond double's range ("1e999")
        throw RequestError{400, std::string("the body is not valid JSON: ") + e.what(), ""};
    }
    if (!req.is_object())
        throw RequestError{400, "the body must be a JSON object, got " + type_name(req), ""};
    CompletionRequest r;
    if (req.contains("model") && !req["model"].is_string())
        throw RequestError{400, "model: expected a string, got " + type_name(req["model"]), "model"};
    if (!req.contains("prompt"))
        throw RequestError{400, "prompt: required (an array of token ids)", "prompt"};
    const json &p = req["prompt"];
    if (p.is_string())
        throw RequestError{400, "prompt: this reference takes token ids (an array of integers), not text",
                           "prompt"};
    if (!p.is_array())
        throw RequestError{400, "prompt: expected an array of token ids, got " + type_name(p), "prompt"};
    if (p.empty()) throw RequestError{400, "prompt: empty; give at least one token id", "prompt"};
    if ((int64_t)p.size() > n_ctx)
        throw RequestError{400,
                           "prompt: " + std::to_string(p.size()) + " tokens exceed the context of " +
                               std::to_string(n_ctx) + " tokens (position " + std::to_string(n_ctx) +
                               " is the first that does not fit; the generated token needs none)",
                           "prompt"};
    r.prompt.reserve(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
        const json &t = p[i];
        const std::string where = "prompt[" + std::to_string(i) + "]";
        if (!t.is_number_integer())
            throw RequestError{400, where + ": expected a token id (integer), got " + type_name(t), "prompt"};
        const bool neg = t.is_number_integer() && !t.is_number_unsigned() && t.get<int64_t>() < 0;
        const uint64_t id = neg ? 0 : t.get<uint64_t>();
        if (neg || id >= (uint64_t)n_vocab)
            throw RequestError{400,
                               where + ": token id " + t.dump() + " is outside the model's vocabulary [0, " +
                                   std::to_string(n_vocab) + ")",
                               "prompt"};
        r.prompt.push_back((int32_t)id);
    }
    if (req.contains("max_tokens") && !req["max_tokens"].is_null() &&
        int_field(req, "max_tokens", 0, 1 << 30) != 1)
        throw RequestError{400, "max_tokens: this reference generates exactly one token; send 1",
                           "max_tokens"};
    if (req.contains("n") && !req["n"].is_null() && int_field(req, "n", 1, 1 << 30) != 1)
        throw RequestError{400, "n: only 1 completion per request", "n"};
    if (req.contains("stream") && !req["stream"].is_null() && bool_field(req, "stream"))
        throw RequestError{400, "stream: streaming is not supported", "stream"};
    if (req.contains("echo") && !req["echo"].is_null()) r.echo = bool_field(req, "echo");
    if (req.contains("logprobs") && !req["logprobs"].is_null()) {
        // OpenAI's legacy form gives the number of top logprobs here; Fireworks' gives true + top_logprobs.
        if (req["logprobs"].is_boolean()) {
            r.logprobs = req["logprobs"].get<bool>();
        } else {
            r.top_logprobs = int_field(req, "logprobs", 0, max_top);
            r.logprobs = true;
        }
    }
    if (req.contains("top_logprobs") && !req["top_logprobs"].is_null()) {
        r.top_logprobs = int_field(req, "top_logprobs", 0, max_top);
        if (!r.logprobs) throw RequestError{400, "top_logprobs: needs \"logprobs\": true", "top_logprobs"};
    }
    if (req.contains("prompt_logprobs") && !req["prompt_logprobs"].is_null())
        r.prompt_logprobs = int_field(req, "prompt_logprobs", 0, max_top);
    return r;
}

// float32 as JSON with the digits of %.9g (enough to round-trip a float), and null for a non-finite value.
ojson num(float v) {
    if (!std::isfinite(v)) return nullptr;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::strtod(buf, nullptr);
}

}  // namespace

std::string http_error_body(const std::string &message, const std::string &type, const std::string &param) {
    ojson e;
    e["message"] = message;
    e["type"] = type;
    e["param"] = param.empty() ? ojson(nullptr) : ojson(param);
    e["code"] = nullptr;
    ojson out;
    out["error"] = e;
    return out.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

ReferenceService::ReferenceService(const Model &model, const EngineSettings &settings,
                                   std::string served_name, int32_t max_top_logprobs)
    : model_(model),
      name_(std::move(served_name)),
      max_top_logprobs_(max_top_logprobs),
      n_ctx_limit_(settings.n_ctx > 0 ? settings.n_ctx : model.n_ctx_train()),
      scorer_(std::make_unique<Scorer>(model, settings)) {
    const int32_t n_vocab = model.n_vocab();
    pieces_.reserve((size_t)n_vocab);
    for (int32_t i = 0; i < n_vocab; ++i) pieces_.push_back(model.token_piece(i));
}

ReferenceService::~ReferenceService() = default;

HttpReply ReferenceService::completions(const std::string &body) {
    CompletionRequest req;
    try {
        req = request_parse(body, model_.n_vocab(), n_ctx_limit_, max_top_logprobs_);
    } catch (const RequestError &e) {
        return {e.status, http_error_body(e.message, "invalid_request_error", e.param), e.message};
    }
    const int32_t n = (int32_t)req.prompt.size();
    const int32_t k = std::max({req.logprobs ? req.top_logprobs : 0, req.prompt_logprobs, 1});

    // Position 0 stands as the prompt and every later token as an output, so the scorer returns a row for
    // every position from 1; a placeholder output (id 0, never fed) adds the row after the last prompt
    // token, whose argmax is the generated token.
    TokenSequence seq;
    seq.prompt_token_ids = {req.prompt[0]};
    seq.output_token_ids.assign(req.prompt.begin() + 1, req.prompt.end());
    seq.output_token_ids.push_back(0);
    std::vector<TopkLogprobs> rows((size_t)n);  // rows[j]: the distribution of position j + 1
    EngineTurn turn(gate_, limits_);
    if (!turn.held()) return turn.busy_reply();
    // llama.cpp checks the turn's time between the operations of each decode, so a long prompt is stopped
    // within moments of its limit, not only after a whole batch of tokens.
    scorer_->set_abort([&turn] { return turn.expired(); });
    struct Unset {
        Scorer &s;
        ~Unset() { s.set_abort(nullptr); }
    } unset{*scorer_};
    try {
        scorer_->score(
            std::span<const TokenSequence>(&seq, 1), [&](size_t, int32_t j, std::span<const float> l) {
                turn.check();  // between rows: a request past its engine time stops here
                topk_logprobs_from_logits(l, k, j + 1 < n ? req.prompt[(size_t)j + 1] : -1, rows[(size_t)j]);
            });
    } catch (const EngineTimeout &) {
        return turn.timeout_reply(n);
    } catch (const ScoreStopped &) {
        return turn.timeout_reply(n);
    } catch (const InputError &e) {  // the checks above should have caught it first
        return {400, http_error_body(e.what(), "invalid_request_error", "prompt"), e.what()};
    } catch (const std::exception &e) {
        return {500, http_error_body(std::string("scoring failed: ") + e.what(), "server_error", ""),
                e.what()};
    }
    const TopkLogprobs &last = rows.back();
    const TopkEntry generated = last.top.front();

    auto top_list = [&](const TopkLogprobs &row, int32_t count) {
        ojson list = ojson::array();
        for (int32_t r = 0; r < count && r < (int32_t)row.top.size(); ++r) {
            const TopkEntry &e = row.top[(size_t)r];
            list.push_back({{"token", pieces_[(size_t)e.token_id]},
                            {"token_id", e.token_id},
                            {"logprob", num(e.logprob)}});
        }
        return list;
    };
    ojson choice;
    choice["index"] = 0;
    // The pieces joined, special tokens included, so `text` spells exactly the tokens of the rows.
    std::string text;
    if (req.echo)
        for (int32_t t : req.prompt) text += pieces_[(size_t)t];
    text += pieces_[(size_t)generated.token_id];
    choice["text"] = text;
    if (req.logprobs) {
        ojson content = ojson::array();
        if (req.echo) {
            content.push_back({{"token", pieces_[(size_t)req.prompt[0]]},
                               {"token_id", req.prompt[0]},
                               {"logprob", nullptr},
                               {"top_logprobs", ojson::array()}});
            for (int32_t i = 1; i < n; ++i) {
                const TopkLogprobs &row = rows[(size_t)i - 1];
                content.push_back({{"token", pieces_[(size_t)req.prompt[(size_t)i]]},
                                   {"token_id", req.prompt[(size_t)i]},
                                   {"logprob", num(row.claimed_logprob)},
                                   {"top_logprobs", top_list(row, req.top_logprobs)}});
            }
        }
        content.push_back({{"token", pieces_[(size_t)generated.token_id]},
                           {"token_id", generated.token_id},
                           {"logprob", num(generated.logprob)},
                           {"top_logprobs", top_list(last, req.top_logprobs)}});
        choice["logprobs"] = {{"content", content}};
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = "length";
    if (req.prompt_logprobs >= 0) {
        // vLLM's dict: the actual token first (its rank among all tokens), then the top-k with ranks 1..k; a
        // top-k entry for the same id overwrites the value but keeps the key's place, as a Python dict does.
        ojson plp = ojson::array();
        plp.push_back(nullptr);
        for (int32_t i = 1; i < n; ++i) {
            const TopkLogprobs &row = rows[(size_t)i - 1];
            const int32_t id = req.prompt[(size_t)i];
            ojson d = ojson::object();
            d[std::to_string(id)] = {{"logprob", num(row.claimed_logprob)},
                                     {"rank", row.claimed_rank},
                                     {"decoded_token", pieces_[(size_t)id]}};
            for (int32_t r = 0; r < req.prompt_logprobs && r < (int32_t)row.top.size(); ++r) {
                const TopkEntry &e = row.top[(size_t)r];
                d[std::to_string(e.token_id)] = {{"logprob", num(e.logprob)},
                                                 {"rank", r + 1},
                                                 {"decoded_token", pieces_[(size_t)e.token_id]}};
            }
            plp.push_back(d);
        }
        choice["prompt_logprobs"] = plp;
    }

    ojson out;
    out["id"] = "cmpl-difr-" + std::to_string(next_id_.fetch_add(1));
    out["object"] = "text_completion";
    out["created"] = (int64_t)std::time(nullptr);
    out["model"] = name_;
    out["choices"] = ojson::array({choice});
    out["usage"] = {{"prompt_tokens", n}, {"completion_tokens", 1}, {"total_tokens", n + 1}};
    char note[96];
    std::snprintf(note, sizeof note, "prompt_tokens=%d top_logprobs=%d prompt_logprobs=%d", n,
                  req.logprobs ? req.top_logprobs : -1, req.prompt_logprobs);
    return {200, out.dump(-1, ' ', false, ojson::error_handler_t::replace), note};
}

HttpReply ReferenceService::models() const {
    ojson m = {{"id", name_},
               {"object", "model"},
               {"created", 0},
               {"owned_by", "difr"},
               {"max_model_len", n_ctx_limit_}};
    ojson out = {{"object", "list"}, {"data", ojson::array({m})}};
    return {200, out.dump(), ""};
}

HttpReply ReferenceService::health() const {
    ojson out = {{"status", "ok"}, {"model", name_}};
    return {200, out.dump(), ""};
}

}  // namespace difr
