// difr serve: the local engine as a trusted prompt-logprob reference over HTTP (design.md section 7; the
// wire formats and examples are in docs/serve.md). ReferenceService holds the request logic and answers
// without sockets, so it is testable on its own; serve_http puts it behind cpp-httplib.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
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

// How long a request may hold or wait for the engine. The engine serves one request at a time, in arrival
// order.
struct EngineLimits {
    double wait_s = 600.0;  // queued longer than this: 503 (the server is overloaded; retry later)
    double time_s = 300.0;  // engine work past this: stopped between decode calls, 503
};

// The engine's turnstile: one holder at a time, first come first served, a bounded wait. Shared by the
// services of one server, so two endpoints never compute at once on the same cores.
class EngineGate {
public:
    // Waits until it is this caller's turn or until `deadline`; false when the deadline passed first (the
    // caller's place is given up).
    bool acquire(std::chrono::steady_clock::time_point deadline);
    void release();

private:
    std::mutex mu_;
    std::condition_variable cv_;
    uint64_t next_ticket_ = 0, serving_ = 0;
    std::set<uint64_t> abandoned_;
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
    // serve_http sets them from ServeOptions; the defaults are EngineLimits{}.
    void limits_set(const EngineLimits &limits) { limits_ = limits; }
    EngineGate &gate() { return gate_; }  // for the other services of the same server

private:
    const Model &model_;
    std::string name_;
    int32_t max_top_logprobs_;
    int32_t n_ctx_limit_;
    std::vector<std::string> pieces_;  // token_piece of every id, made once
    EngineGate gate_;
    EngineLimits limits_;
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
    // Takes its engine turns at `gate` (the reference's) under `limits`: the server's two endpoints queue
    // for the cores in one line, and a request that waits past limits.wait_s gets 503. serve_http calls it.
    void gate_share(EngineGate &gate, const EngineLimits &limits) {
        gate_ = &gate;
        limits_ = limits;
    }

private:
    HttpReply handle(const std::string &body, bool chat);
    const Model &model_;
    EngineSettings settings_;
    std::string name_;
    int32_t max_top_logprobs_;
    int32_t n_ctx_limit_;
    std::vector<std::string> pieces_;
    EngineGate own_gate_;
    EngineGate *gate_ = &own_gate_;
    EngineLimits limits_;
    std::unique_ptr<Scorer> scorer_;  // the replay path
};

// Whether a /v1/completions body is for the reference (it asks for `echo` or `prompt_logprobs`, or is not a
// JSON object, whose error the reference reports) rather than for the prover.
bool completions_for_reference(const std::string &body);

// An OpenAI-style error body: {"error": {"message", "type", "param", "code"}}.
std::string http_error_body(const std::string &message, const std::string &type, const std::string &param);

// The limits every endpoint gets from serve_http (docs/serve.md, "Limits"), whatever its handler does.
struct ServeOptions {
    std::string host = "127.0.0.1";    // loopback unless asked otherwise
    int port = 8080;                   // 0: any free port
    size_t max_body_bytes = 4u << 20;  // larger bodies: 413 before they are read
    // A request's headers and body must arrive within this many seconds of its first byte (or of the previous
    // answer on a kept-alive connection), else 408; an answer must be taken within it too.
    double request_timeout_s = 30.0;
    double keep_alive_s = 5.0;  // an idle kept-alive connection is closed after this
    int32_t http_threads = 64;  // connections served at once (each holds a thread while open)
    int32_t max_queued = 1024;  // accepted connections waiting for a thread; beyond that they are closed
    EngineLimits engine;
    // When not empty, every request but GET /health needs "Authorization: Bearer <api_key>" (else 401); the
    // comparison takes the same time wherever the keys differ, and the key is never logged.
    std::string api_key;
    // POST /v1/completions requests without `echo` or `prompt_logprobs` go to the prover (generation) instead
    // of the reference, whose one-token answer they get by default (docs/serve.md).
    bool prover_completions = false;
};

// Binds, calls `on_listening(port)` once the socket accepts connections, and serves until SIGINT or SIGTERM
// (or until the listener fails). Logs one line per request to stderr. Throws InputError when it cannot bind.
void serve_http(ReferenceService &service, const ServeOptions &options,
                const std::function<void(int port)> &on_listening, ProverService *prover = nullptr);

}  // namespace difr
