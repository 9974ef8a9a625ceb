// The prover behind difr serve: parse and check a chat or text completion request strictly, generate (or
// replay enforced tokens) with the engine, and assemble an OpenAI response whose logprobs are an inference
// artifact. Parsing, running and assembling are separate steps, so a new proof adds a field to the request,
// a step to run and an object to the response without touching the others. Activation proofs (fingerprints,
// TOPLOC) are one: `fingerprint` and `toploc` in the request, the hidden state of every row that produced a
// returned token fed to an ActivationProver, the fingerprints file's lines in the response.
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "difr/artifact_prover.h"
#include "difr/error.h"
#include "difr/fingerprint_proofs.h"
#include "difr/seed_proof.h"
#include "difr/server.h"
#include "engine_turn.h"

namespace difr {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

struct BadRequest {
    std::string message;
    std::string param;
};

std::string type_of(const json &v) {
    return v.is_number_float() ? "number" : v.type_name();
}

double number(const json &req, const char *name, double lo, double hi, double fallback) {
    if (!req.contains(name) || req[name].is_null()) return fallback;
    const json &v = req[name];
    if (!v.is_number()) throw BadRequest{std::string(name) + ": expected a number, got " + type_of(v), name};
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi))
        throw BadRequest{std::string(name) + ": " + v.dump() + " is outside [" + json(lo).dump() + ", " +
                             json(hi).dump() + "]",
                         name};
    return x;
}

int64_t integer(const json &req, const char *name, int64_t lo, int64_t hi, int64_t fallback) {
    if (!req.contains(name) || req[name].is_null()) return fallback;
    const json &v = req[name];
    if (!v.is_number_integer())
        throw BadRequest{std::string(name) + ": expected an integer, got " + type_of(v), name};
    if (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t)INT64_MAX)
        throw BadRequest{std::string(name) + ": " + v.dump() + " does not fit a signed 64-bit integer", name};
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
        throw BadRequest{std::string(name) + ": " + std::to_string(x) + " is outside [" + std::to_string(lo) +
                             ", " + std::to_string(hi) + "]",
                         name};
    return x;
}

bool boolean(const json &req, const char *name, bool fallback) {
    if (!req.contains(name) || req[name].is_null()) return fallback;
    if (!req[name].is_boolean())
        throw BadRequest{std::string(name) + ": expected true or false, got " + type_of(req[name]), name};
    return req[name].get<bool>();
}

// A token id spelled as Gonka's enforced_tokens spell them: a decimal string (or an integer).
int32_t token_id(const json &v, int32_t n_vocab, const std::string &where) {
    int64_t id = -1;
    if (v.is_number_integer()) {
        id = v.get<int64_t>();
    } else if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
            throw BadRequest{where + ": '" + s + "' is not a token id (a decimal string)", "enforced_tokens"};
        id = std::stoll(s);
    } else {
        throw BadRequest{where + ": expected a token id, got " + type_of(v), "enforced_tokens"};
    }
    if (id < 0 || id >= n_vocab)
        throw BadRequest{where + ": token id " + std::to_string(id) +
                             " is outside the model's vocabulary [0, " + std::to_string(n_vocab) + ")",
                         "enforced_tokens"};
    return (int32_t)id;
}

struct ProverRequest {
    std::vector<int32_t> prompt;
    ProverOptions gen;
    bool logprobs = false;
    int32_t top_logprobs = 0;
    bool ids_as_tokens = false;  // return_token_ids: `token` spelled as the decimal id
    bool enforced = false;
    std::vector<int32_t> forced;
    std::vector<std::vector<int32_t>> forced_top;  // the prover's top_tokens per position (may be empty)
    ActivationProofSpec proofs;                    // activation proofs asked for (none: empty)
};

ProverRequest request_parse(const std::string &body, bool chat, const Model &model, int32_t n_ctx,
                            int32_t max_top) {
    json req;
    try {
        req = json::parse(body);
    } catch (const json::exception &e) {  // parse errors, and numbers beyond double's range ("1e999")
        throw BadRequest{std::string("the body is not valid JSON: ") + e.what(), ""};
    }
    if (!req.is_object()) throw BadRequest{"the body must be a JSON object, got " + type_of(req), ""};
    const int32_t n_vocab = model.n_vocab();
    ProverRequest r;
    if (req.contains("model") && !req["model"].is_string())
        throw BadRequest{"model: expected a string, got " + type_of(req["model"]), "model"};
    if (integer(req, "n", 1, 1, 1) != 1) throw BadRequest{"n: only 1 is supported", "n"};
    if (boolean(req, "stream", false))
        throw BadRequest{"stream: not supported; send stream: false", "stream"};
    if (req.contains("enforced_str"))
        throw BadRequest{"enforced_str: re-tokenising text is ambiguous; send enforced_tokens (token ids)",
                         "enforced_str"};
    if (chat) {
        if (!req.contains("messages") || !req["messages"].is_array() || req["messages"].empty())
            throw BadRequest{"messages: required, a non-empty list of {role, content}", "messages"};
        std::vector<ChatMessage> msgs;
        for (size_t i = 0; i < req["messages"].size(); ++i) {
            const json &m = req["messages"][i];
            const std::string at = "messages[" + std::to_string(i) + "]";
            if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
                throw BadRequest{at + ".role: required, a string", "messages"};
            const std::string role = m["role"].get<std::string>();
            if (role != "system" && role != "user" && role != "assistant")
                throw BadRequest{at + ".role: '" + role + "' is not system, user or assistant", "messages"};
            if (!m.contains("content") || !m["content"].is_string())
                throw BadRequest{at + ".content: required, a string", "messages"};
            msgs.push_back({role, m["content"].get<std::string>()});
        }
        try {
            r.prompt = model.chat_tokenize(msgs);
        } catch (const std::exception &e) {
            throw BadRequest{std::string("messages: the chat template failed: ") + e.what(), "messages"};
        }
    } else {
        if (!req.contains("prompt")) throw BadRequest{"prompt: required (text or token ids)", "prompt"};
        const json &p = req["prompt"];
        if (p.is_string()) {
            r.prompt = model.tokenize(p.get<std::string>(), true, false);
        } else if (p.is_array()) {
            for (size_t i = 0; i < p.size(); ++i) {
                if (!p[i].is_number_integer())
                    throw BadRequest{"prompt[" + std::to_string(i) +
                                         "]: expected a token id (integer), got " + type_of(p[i]),
                                     "prompt"};
                const int64_t id = p[i].get<int64_t>();
                if (id < 0 || id >= n_vocab)
                    throw BadRequest{"prompt[" + std::to_string(i) + "]: token id " + std::to_string(id) +
                                         " is outside the model's vocabulary [0, " + std::to_string(n_vocab) +
                                         ")",
                                     "prompt"};
                r.prompt.push_back((int32_t)id);
            }
        } else {
            throw BadRequest{"prompt: expected text or an array of token ids, got " + type_of(p), "prompt"};
        }
    }
    if (r.prompt.empty()) throw BadRequest{"prompt: empty after tokenisation", chat ? "messages" : "prompt"};

    ArtifactSampling &s = r.gen.sampling;
    s.temperature = number(req, "temperature", 0.0, 100.0, 1.0);
    s.top_p = number(req, "top_p", 1e-9, 1.0, 1.0);
    s.min_p = number(req, "min_p", 0.0, 1.0, 0.0);
    const int64_t top_k = integer(req, "top_k", -1, n_vocab, -1);
    s.top_k = top_k <= 0 ? 0 : (int32_t)top_k;
    if (req.contains("seed") && !req["seed"].is_null())
        s.seed = integer(req, "seed", INT64_MIN, INT64_MAX, 0);

    // logprobs: true with top_logprobs: k (chat and Fireworks), or the legacy integer k (text completions).
    if (req.contains("logprobs") && req["logprobs"].is_number_integer()) {
        r.logprobs = true;
        r.top_logprobs = (int32_t)integer(req, "logprobs", 0, max_top, 0);
    } else {
        r.logprobs = boolean(req, "logprobs", false);
        r.top_logprobs = (int32_t)integer(req, "top_logprobs", 0, max_top, 0);
    }
    r.ids_as_tokens =
        boolean(req, "return_token_ids", false) || boolean(req, "return_tokens_as_token_ids", false);
    boolean(req, "skip_special_tokens", true);  // accepted: special tokens are always spelled
    try {
        r.proofs = activation_proof_request_parse(req, model.n_embd());
    } catch (const ActivationProofRequestError &e) {
        throw BadRequest{e.what(), e.field()};
    }

    std::string proof = "none";
    if (req.contains("seed_proof")) {
        if (!req["seed_proof"].is_string()) throw BadRequest{"seed_proof: expected a string", "seed_proof"};
        proof = req["seed_proof"].get<std::string>();
    }
    if (proof == "uniform")
        r.gen.proof = SeedProofKind::uniform;
    else if (proof == "weighted")
        r.gen.proof = SeedProofKind::weighted;
    else if (proof != "none")
        throw BadRequest{"seed_proof: '" + proof + "' is not none, uniform or weighted", "seed_proof"};
    if (r.gen.proof != SeedProofKind::none) {
        if (!s.seed) throw BadRequest{"seed: required with a seed_proof (an integer)", "seed"};
        if (!(s.temperature > 0))
            throw BadRequest{"temperature: a seed_proof needs temperature > 0", "temperature"};
        if (r.gen.proof == SeedProofKind::weighted && (s.top_k <= 0 || s.top_k > 1000))
            throw BadRequest{"top_k: the weighted seed proof needs top_k in [1, 1000] (bounded support)",
                             "top_k"};
    }
    if (req.contains("inference_id")) {
        if (!req["inference_id"].is_string())
            throw BadRequest{"inference_id: expected a string", "inference_id"};
        const std::string id = req["inference_id"].get<std::string>();
        if (r.gen.proof == SeedProofKind::uniform && !seed_uuid_valid(id))
            throw BadRequest{"inference_id: the uniform seed proof needs a canonical lowercase UUID",
                             "inference_id"};
        try {
            if (r.gen.proof == SeedProofKind::weighted) seed_chain_bound(0, id);
        } catch (const InputError &e) {
            throw BadRequest{e.what(), "inference_id"};
        }
        if (id.empty() || id.size() > 256)
            throw BadRequest{"inference_id: 1 to 256 characters", "inference_id"};
        r.gen.ids = {id};
    }

    const int64_t room = (int64_t)n_ctx - (int64_t)r.prompt.size();
    if (room < 1)
        throw BadRequest{"prompt: " + std::to_string(r.prompt.size()) +
                             " tokens leave no room in the context of " + std::to_string(n_ctx) + " tokens",
                         chat ? "messages" : "prompt"};
    if (req.contains("enforced_tokens")) {
        const json &e = req["enforced_tokens"];
        if (!e.is_object() || !e.contains("tokens") || !e["tokens"].is_array() || e["tokens"].empty())
            throw BadRequest{
                "enforced_tokens: expected {\"tokens\": [{\"token\": \"<id>\", \"top_tokens\": [...]}, ...]}",
                "enforced_tokens"};
        r.enforced = true;
        for (size_t j = 0; j < e["tokens"].size(); ++j) {
            const json &t = e["tokens"][j];
            const std::string at = "enforced_tokens.tokens[" + std::to_string(j) + "]";
            if (!t.is_object() || !t.contains("token"))
                throw BadRequest{at + ".token: required", "enforced_tokens"};
            r.forced.push_back(token_id(t["token"], n_vocab, at + ".token"));
            std::vector<int32_t> top;
            if (t.contains("top_tokens")) {
                if (!t["top_tokens"].is_array() || t["top_tokens"].size() > 1000)
                    throw BadRequest{at + ".top_tokens: expected a list of at most 1000 token ids",
                                     "enforced_tokens"};
                for (size_t q = 0; q < t["top_tokens"].size(); ++q)
                    top.push_back(
                        token_id(t["top_tokens"][q], n_vocab, at + ".top_tokens[" + std::to_string(q) + "]"));
            }
            r.forced_top.push_back(std::move(top));
        }
        if ((int64_t)r.forced.size() > room)
            throw BadRequest{"enforced_tokens: " + std::to_string(r.forced.size()) + " tokens after a " +
                                 std::to_string(r.prompt.size()) + "-token prompt exceed the context of " +
                                 std::to_string(n_ctx) + " (position " + std::to_string(room) +
                                 " is the first that does not fit)",
                             "enforced_tokens"};
    }
    const int64_t max_tokens = integer(req, "max_tokens", 1, INT32_MAX, std::min<int64_t>(room, 128));
    const int64_t max_completion = integer(req, "max_completion_tokens", 1, INT32_MAX, max_tokens);
    r.gen.max_tokens = (int32_t)std::min(max_tokens, max_completion);
    if (!r.enforced && r.gen.max_tokens > room)
        throw BadRequest{"max_tokens: " + std::to_string(r.gen.max_tokens) + " after a " +
                             std::to_string(r.prompt.size()) + "-token prompt exceed the context of " +
                             std::to_string(n_ctx) + " tokens",
                         "max_tokens"};
    r.gen.k = std::max<int32_t>(1, r.top_logprobs);
    return r;
}

struct ProverResult {
    Artifact artifact;  // one sequence
    std::string finish_reason;
    std::optional<SequenceProofs> proofs;  // when asked for
};

// What a client saves to check the proofs with `difr verify --fingerprints`: the tokens (one entry of a
// token-difr sequence file), the fingerprints file's header and sequence line, and what the proofs cost.
ojson activation_proofs_json(const ProverRequest &r, const ProverResult &res, const Model &model) {
    const ArtifactSequence &s = res.artifact.sequences[0];
    std::vector<int32_t> ids;
    for (const ArtifactPosition &p : s.positions) ids.push_back(p.id);
    const SequenceProofs &p = *res.proofs;
    const ojson line = activation_proofs_line_json(0, p);
    const ActivationProofBytes b = activation_proof_bytes(r.proofs, p);
    ojson out;
    out["tokens"] = {{"prompt_token_ids", s.prompt_token_ids}, {"output_token_ids", ids}};
    out["header"] = activation_proofs_header_json(model.description(), model.n_embd(), r.proofs);
    out["sequence"] = line;
    out["bytes"] = {{"fingerprint", b.fingerprint},
                    {"toploc", b.toploc},
                    {"total", b.total()},
                    {"per_token", p.tokens > 0 ? double(b.total()) / double(p.tokens) : 0.0},
                    {"line", line.dump().size()}};
    return out;
}

ojson top_entry(const std::vector<std::string> &pieces, int32_t id, double logprob, bool ids_as_tokens) {
    return {{"token", ids_as_tokens ? std::to_string(id) : pieces[(size_t)id]},
            {"token_id", id},
            {"logprob", std::isfinite(logprob) ? ojson(logprob) : ojson(nullptr)}};
}

ojson response_json(const ProverRequest &r, const ProverResult &res, bool chat, const std::string &name,
                    const std::vector<std::string> &pieces, const Model &model) {
    const ArtifactSequence &s = res.artifact.sequences[0];
    std::vector<int32_t> ids;
    for (const ArtifactPosition &p : s.positions) ids.push_back(p.id);
    const std::string text = model.detokenize(ids);
    ojson choice;
    choice["index"] = 0;
    if (chat)
        choice["message"] = {{"role", "assistant"}, {"content", text}};
    else
        choice["text"] = text;
    if (r.logprobs) {
        ojson content = ojson::array();
        for (const ArtifactPosition &p : s.positions) {
            ojson e = top_entry(pieces, p.id, p.logprob, r.ids_as_tokens);
            ojson top = ojson::array();
            // A seed proof's draw is replayed from the whole top-k it drew from (k widened to top_k), so all
            // of it is returned; otherwise top_logprobs entries, as asked.
            const size_t shown = r.enforced || res.artifact.proof != SeedProofKind::none
                                     ? p.top.size()
                                     : std::min(p.top.size(), (size_t)r.top_logprobs);
            for (size_t q = 0; q < shown; ++q)
                top.push_back(top_entry(pieces, p.top[q].id, p.top[q].logprob, r.ids_as_tokens));
            e["top_logprobs"] = top;
            content.push_back(e);
        }
        choice["logprobs"] = {{"content", content}};
    } else {
        choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = res.finish_reason;
    ojson out;
    out["id"] = s.id;
    out["object"] = chat ? "chat.completion" : "text_completion";
    out["created"] = (int64_t)std::time(nullptr);
    out["model"] = name;
    out["choices"] = ojson::array({choice});
    out["usage"] = {{"prompt_tokens", s.prompt_token_ids.size()},
                    {"completion_tokens", s.positions.size()},
                    {"total_tokens", s.prompt_token_ids.size() + s.positions.size()}};
    const ArtifactSampling &sp = res.artifact.sampling;
    out["difr"] = {{"seed_proof", seed_proof_name(res.artifact.proof)},
                   {"k", res.artifact.k},
                   {"enforced", r.enforced},
                   {"sampling",
                    {{"temperature", sp.temperature},
                     {"top_k", sp.top_k},
                     {"top_p", sp.top_p},
                     {"min_p", sp.min_p},
                     {"seed", sp.seed ? ojson(*sp.seed) : ojson(nullptr)}}}};
    if (res.proofs) out["difr"]["activation_proofs"] = activation_proofs_json(r, res, model);
    return out;
}

}  // namespace

bool completions_for_reference(const std::string &body) {
    const json req = json::parse(body, nullptr, false);
    if (!req.is_object()) return true;
    return req.contains("echo") || req.contains("prompt_logprobs");
}

ProverService::ProverService(const Model &model, const EngineSettings &settings, std::string served_name,
                             int32_t max_top_logprobs)
    : model_(model), settings_(settings), name_(std::move(served_name)), max_top_logprobs_(max_top_logprobs) {
    n_ctx_limit_ = settings.n_ctx > 0 ? settings.n_ctx : model.n_ctx_train();
    for (int32_t i = 0; i < model.n_vocab(); ++i) pieces_.push_back(model.token_piece(i));
    EngineSettings s = settings_;
    s.n_seq_max = 1;
    s.n_ctx = n_ctx_limit_;
    scorer_ = std::make_unique<Scorer>(model_, s);
}

ProverService::~ProverService() = default;

HttpReply ProverService::chat_completions(const std::string &body) {
    return handle(body, true);
}
HttpReply ProverService::completions(const std::string &body) {
    return handle(body, false);
}

HttpReply ProverService::handle(const std::string &body, bool chat) {
    ProverRequest r;
    try {
        r = request_parse(body, chat, model_, n_ctx_limit_, max_top_logprobs_);
    } catch (const BadRequest &e) {
        return {400, http_error_body(e.message, "invalid_request_error", e.param), e.message};
    }
    ProverResult res;
    // Activation proofs: the hidden state of each row that produced a returned token (sampled it, or scored a
    // forced token), in order. The prover holds one TOPLOC chunk and k values per token.
    std::optional<ActivationProver> prover;
    HiddenCallback on_hidden;
    EngineTurn turn(*gate_, limits_);
    if (!turn.held()) return turn.busy_reply();
    try {
        if (!r.proofs.empty()) {
            prover.emplace(r.proofs, model_.n_embd());
            on_hidden = [&](size_t, int32_t j, std::span<const float> h) {
                try {
                    prover->add(0, j, h);
                } catch (const InputError &e) {  // a fingerprint value beyond fp16's range
                    throw BadRequest{std::string("fingerprint: ") + e.what() +
                                         " (in a request: \"fingerprint\": {\"dtype\": \"bf16\", ...})",
                                     "fingerprint"};
                }
            };
        }
        if (r.enforced) {
            Artifact &a = res.artifact;
            a.source = "difr";
            a.model = model_.description();
            a.sampling = r.gen.sampling;
            a.k = r.gen.k;
            ArtifactSequence s;
            s.id = r.gen.ids.empty() ? artifact_new_uuid() : r.gen.ids[0];
            s.prompt_token_ids = r.prompt;
            const TokenSequence seq{r.prompt, r.forced};
            auto rows = artifact_score_tokens(model_, *scorer_, std::span<const TokenSequence>(&seq, 1),
                                              r.gen.k, {r.forced_top}, on_hidden);
            s.positions = std::move(rows[0]);
            a.sequences.push_back(std::move(s));
            res.finish_reason = "length";
        } else {
            EngineSettings s = settings_;
            s.n_seq_max = 1;
            r.gen.on_hidden = on_hidden;
            res.artifact = artifact_generate(model_, s, {r.prompt}, r.gen);
            const auto &pos = res.artifact.sequences[0].positions;
            res.finish_reason = !pos.empty() && model_.is_eog(pos.back().id) ? "stop" : "length";
        }
        if (prover) res.proofs = prover->finish(0);
    } catch (const BadRequest &e) {
        return {400, http_error_body(e.message, "invalid_request_error", e.param), e.message};
    } catch (const InputError &e) {
        return {400, http_error_body(e.what(), "invalid_request_error", ""), e.what()};
    } catch (const std::exception &e) {
        return {500, http_error_body(std::string("generation failed: ") + e.what(), "server_error", ""),
                e.what()};
    }
    const ojson out = response_json(r, res, chat, name_, pieces_, model_);
    const size_t n = res.artifact.sequences[0].positions.size();
    std::string note = std::string(r.enforced ? "replay " : "generate ") + std::to_string(r.prompt.size()) +
                       "+" + std::to_string(n) + " tokens, proof " + seed_proof_name(res.artifact.proof);
    if (r.proofs.fingerprint) note += ", fingerprint k=" + std::to_string(r.proofs.fingerprint->k);
    if (r.proofs.toploc) note += ", toploc top-" + std::to_string(r.proofs.toploc->topk);
    // A token piece may be part of a UTF-8 character (byte-level vocabularies): spelled as U+FFFD, as the
    // reference endpoint does; the ids stay exact in `token_id`.
    return {200, out.dump(-1, ' ', false, ojson::error_handler_t::replace), note};
}

}  // namespace difr
