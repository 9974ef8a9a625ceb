// difr serve: the local engine as a trusted prompt-logprob reference over HTTP (design.md section 7; the
// wire formats and examples are in docs/serve.md). ReferenceService holds the request logic and answers
// without sockets, so it is testable on its own; serve_http puts it behind cpp-httplib.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "difr/model.h"
#include "difr/scorer.h"

namespace difr {

struct HttpReply {
    int status = 200;
    std::string body;  // JSON
    std::string note;  // for the one-line request log: sizes, never the body
};

class ReferenceService {
public:
    // `served_name` is what /v1/models lists and responses carry as "model". Requests may name any model:
    // the response's "model" says which one answered.
    ReferenceService(const Model &model, const EngineSettings &settings, std::string served_name,
                     int32_t max_top_logprobs = 20);
    ~ReferenceService();

    // POST /v1/completions with token-id prompts: Fireworks-style echo rows (`echo`, `logprobs`,
    // `top_logprobs`) and/or vLLM's `prompt_logprobs`. 400 with an OpenAI-style error naming the field and
    // position for bad input; 500 if the engine fails. Safe to call from many threads: engine access is
    // serialised.
    HttpReply completions(const std::string &body);
    HttpReply models() const;  // GET /v1/models
    HttpReply health() const;  // GET /health

    int32_t context_limit() const { return n_ctx_limit_; }

private:
    const Model &model_;
    std::string name_;
    int32_t max_top_logprobs_;
    int32_t n_ctx_limit_;
    std::vector<std::string> pieces_;  // token_piece of every id, made once
    std::mutex engine_mutex_;
    std::unique_ptr<Scorer> scorer_;
    std::atomic<uint64_t> next_id_{0};
};

// The prover: OpenAI-compatible generation with the local engine that returns an inference artifact in the
// response (docs/serve.md "Prover"): POST /v1/chat/completions and POST /v1/completions (requests without
// `echo` or `prompt_logprobs`, which go to ReferenceService) with `logprobs`/`top_logprobs` (token ids
// beside the text), honouring seed, temperature, top_k, top_p, min_p and max_tokens; `seed_proof` (a difr
// extension: none, uniform, weighted) makes the draw replayable; `enforced_tokens` (Gonka's validator
// replay) forces the given tokens and returns the logprobs at the prover's top_tokens ids.
class ProverService {
public:
    ProverService(const Model &model, const EngineSettings &settings, std::string served_name,
                  int32_t max_top_logprobs = 20);
    ~ProverService();

    HttpReply chat_completions(const std::string &body);
    HttpReply completions(const std::string &body);

private:
    HttpReply handle(const std::string &body, bool chat);
    const Model &model_;
    EngineSettings settings_;
    std::string name_;
    int32_t max_top_logprobs_;
    int32_t n_ctx_limit_;
    std::vector<std::string> pieces_;
    std::mutex engine_mutex_;
    std::unique_ptr<Scorer> scorer_;  // the replay path
};

// Whether a /v1/completions body is for the reference (it asks for `echo` or `prompt_logprobs`, or is not a
// JSON object, whose error the reference reports) rather than for the prover.
bool completions_for_reference(const std::string &body);

// An OpenAI-style error body: {"error": {"message", "type", "param", "code"}}.
std::string http_error_body(const std::string &message, const std::string &type, const std::string &param);

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port
    size_t max_body_bytes = 16u << 20;
    // POST /v1/completions requests without `echo` or `prompt_logprobs` go to the prover (generation) instead
    // of the reference, whose one-token answer they get by default (docs/serve.md).
    bool prover_completions = false;
};

// Binds, calls `on_listening(port)` once the socket accepts connections, and serves until SIGINT or SIGTERM
// (or until the listener fails). Logs one line per request to stderr. Throws InputError when it cannot bind.
void serve_http(ReferenceService &service, const ServeOptions &options,
                const std::function<void(int port)> &on_listening, ProverService *prover = nullptr);

}  // namespace difr
