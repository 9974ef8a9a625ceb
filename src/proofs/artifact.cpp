// Reading and writing inference artifacts. Every error names the file, the sequence and the position, so a
// provider's malformed response is reported where it is wrong.
#include "difr/artifact.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"
#include "difr/seed_proof.h"

namespace difr {

namespace {

using ojson = nlohmann::ordered_json;

// JSON has no NaN or infinity, but Python's json writes NaN, Infinity and -Infinity. They are turned into
// marker strings before parsing, so the error can name the sequence and position holding them.
constexpr const char *kNonFinite = "\x01nonfinite:";

std::string nonfinite_mark(const std::string &text) {
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < text.size())
                out += text[++i];
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
            out += c;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            // A number too large for a double (1e999) would stop the parser without a position: mark it too.
            size_t j = i + 1;
            while (j < text.size() && std::strchr("0123456789.eE+-", text[j])) ++j;
            const std::string num = text.substr(i, j - i);
            if (num != "-" && !std::isfinite(std::strtod(num.c_str(), nullptr))) {
                out += "\"\\u0001nonfinite:" + num + "\"";
                i = j - 1;
                continue;
            }
        }
        for (const char *word : {"-Infinity", "Infinity", "NaN"}) {
            const size_t n = std::strlen(word);
            if (text.compare(i, n, word) == 0) {
                out += std::string("\"\\u0001nonfinite:") + word + "\"";  // kNonFinite, JSON-escaped
                i += n - 1;
                goto next;
            }
        }
        out += c;
    next:;
    }
    return out;
}

struct Where {
    const std::string &path;
    size_t seq;
    std::string at(std::optional<size_t> pos = {}) const {
        std::string s = path + ": sequence " + std::to_string(seq);
        if (pos) s += ", position " + std::to_string(*pos);
        return s;
    }
};

double logprob_of(const ojson &v, const Where &w, size_t pos, const std::string &field) {
    if (v.is_string() && v.get<std::string>().rfind(kNonFinite, 0) == 0)
        throw InputError(w.at(pos) + ": " + field + " is " +
                         v.get<std::string>().substr(std::strlen(kNonFinite)) +
                         " (a logprob must be a finite number <= 0)");
    if (!v.is_number())
        throw InputError(w.at(pos) + ": " + field + " must be a number, got " + std::string(v.type_name()));
    const double x = v.get<double>();
    if (!std::isfinite(x)) throw InputError(w.at(pos) + ": " + field + " is not finite (" + v.dump() + ")");
    if (x > 0)
        throw InputError(w.at(pos) + ": " + field + " is " + v.dump() + ", above 0 (a logprob is <= 0)");
    return x;
}

int32_t id_of(const ojson &v, const Where &w, size_t pos, const std::string &field) {
    if (!v.is_number_integer())
        throw InputError(w.at(pos) + ": " + field + " must be an integer token id, got " + v.dump());
    const int64_t x = v.get<int64_t>();
    if (x < 0 || x > INT32_MAX)
        throw InputError(w.at(pos) + ": " + field + " " + v.dump() + " is not a token id");
    return (int32_t)x;
}

std::string token_text(const ojson &entry, const Where &w, size_t pos, const std::string &field) {
    if (!entry.contains("token") || !entry["token"].is_string())
        throw InputError(w.at(pos) + ": " + field + ".token is missing or not a string");
    return entry["token"].get<std::string>();
}

// One entry of logprobs.content: {token, logprob, token_id?, top_logprobs: [{token, logprob, token_id?}]}.
ArtifactPosition content_position(const ojson &e, const Where &w, size_t pos) {
    if (!e.is_object()) throw InputError(w.at(pos) + ": logprobs.content entry is not an object");
    ArtifactPosition p;
    p.token = token_text(e, w, pos, "content");
    if (e.contains("token_id")) p.id = id_of(e["token_id"], w, pos, "token_id");
    if (!e.contains("logprob")) throw InputError(w.at(pos) + ": logprob is missing");
    p.logprob = logprob_of(e["logprob"], w, pos, "logprob");
    if (!e.contains("top_logprobs") || !e["top_logprobs"].is_array())
        throw InputError(w.at(pos) +
                         ": top_logprobs is missing (the request must ask for logprobs and top_logprobs)");
    size_t r = 0;
    for (const ojson &t : e["top_logprobs"]) {
        const std::string f = "top_logprobs[" + std::to_string(r++) + "]";
        if (!t.is_object()) throw InputError(w.at(pos) + ": " + f + " is not an object");
        ArtifactTop top;
        top.token = token_text(t, w, pos, f);
        if (t.contains("token_id")) top.id = id_of(t["token_id"], w, pos, f + ".token_id");
        if (!t.contains("logprob")) throw InputError(w.at(pos) + ": " + f + ".logprob is missing");
        top.logprob = logprob_of(t["logprob"], w, pos, f + ".logprob");
        p.top.push_back(std::move(top));
    }
    return p;
}

// The legacy text-completion form: logprobs = {tokens, token_logprobs, top_logprobs: [{token: logprob}]}.
void legacy_positions(const ojson &lp, const Where &w, std::vector<ArtifactPosition> &out) {
    const ojson &toks = lp["tokens"];
    if (!lp.contains("token_logprobs") || !lp.contains("top_logprobs"))
        throw InputError(w.at() + ": logprobs lacks token_logprobs or top_logprobs");
    const ojson &lps = lp["token_logprobs"], &tops = lp["top_logprobs"];
    if (!toks.is_array() || !lps.is_array() || !tops.is_array() || lps.size() != toks.size() ||
        tops.size() != toks.size())
        throw InputError(w.at() +
                         ": logprobs.tokens, token_logprobs and top_logprobs must be lists of one length");
    for (size_t i = 0; i < toks.size(); ++i) {
        const size_t pos = out.size();
        ArtifactPosition p;
        if (!toks[i].is_string()) throw InputError(w.at(pos) + ": logprobs.tokens entry is not a string");
        p.token = toks[i].get<std::string>();
        p.logprob = logprob_of(lps[i], w, pos, "token_logprobs");
        if (!tops[i].is_object()) throw InputError(w.at(pos) + ": top_logprobs entry is not an object");
        for (const auto &[tok, v] : tops[i].items())
            p.top.push_back({-1, tok, logprob_of(v, w, pos, "top_logprobs[\"" + tok + "\"]")});
        out.push_back(std::move(p));
    }
}

void response_positions(const ojson &resp, const Where &w, std::vector<ArtifactPosition> &out) {
    if (!resp.is_object() || !resp.contains("choices") || !resp["choices"].is_array())
        throw InputError(w.at() + ": not an OpenAI response (no choices)");
    // Gonka's ExtractLogits: the logprobs of every choice, concatenated.
    for (size_t c = 0; c < resp["choices"].size(); ++c) {
        const ojson &ch = resp["choices"][c];
        if (!ch.contains("logprobs") || ch["logprobs"].is_null())
            throw InputError(w.at(out.size()) + ": choices[" + std::to_string(c) +
                             "].logprobs is missing (the request must set logprobs: true and top_logprobs)");
        const ojson &lp = ch["logprobs"];
        if (lp.contains("content")) {
            if (!lp["content"].is_array())
                throw InputError(w.at() + ": choices[" + std::to_string(c) +
                                 "].logprobs.content is not a list");
            for (const ojson &e : lp["content"]) out.push_back(content_position(e, w, out.size()));
        } else if (lp.contains("tokens")) {
            legacy_positions(lp, w, out);
        } else {
            throw InputError(w.at() + ": choices[" + std::to_string(c) +
                             "].logprobs has neither content nor tokens");
        }
    }
}

void request_read(const ojson &req, const Where &w, Artifact &a, ArtifactSequence &s, bool first) {
    if (!req.is_object()) throw InputError(w.at() + ": request is not an object");
    ArtifactSampling sp;
    auto num = [&](const char *key, double &dst) {
        if (!req.contains(key) || req[key].is_null()) return;
        if (!req[key].is_number()) throw InputError(w.at() + ": request." + key + " must be a number");
        dst = req[key].get<double>();
    };
    num("temperature", sp.temperature);
    num("top_p", sp.top_p);
    num("min_p", sp.min_p);
    if (req.contains("top_k") && !req["top_k"].is_null()) {
        if (!req["top_k"].is_number_integer())
            throw InputError(w.at() + ": request.top_k must be an integer");
        sp.top_k = std::max<int32_t>(0, req["top_k"].get<int32_t>());  // vLLM: -1 is off
    }
    if (req.contains("seed") && !req["seed"].is_null()) {
        if (!req["seed"].is_number_integer())
            throw InputError(w.at() + ": request.seed must be an integer (seed encoding: a JSON integer)");
        sp.seed = req["seed"].get<int64_t>();
    }
    if (first) a.sampling = sp;
    if (req.contains("messages")) {
        if (!req["messages"].is_array()) throw InputError(w.at() + ": request.messages is not a list");
        for (const ojson &m : req["messages"]) {
            if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
                !m["content"].is_string())
                throw InputError(w.at() + ": request.messages entries need string role and content");
            s.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
        }
    } else if (req.contains("prompt")) {
        if (req["prompt"].is_string()) {
            s.prompt_text = req["prompt"].get<std::string>();
        } else if (req["prompt"].is_array()) {
            for (size_t i = 0; i < req["prompt"].size(); ++i)
                s.prompt_token_ids.push_back(
                    id_of(req["prompt"][i], w, i, "request.prompt[" + std::to_string(i) + "]"));
        } else {
            throw InputError(w.at() + ": request.prompt must be text or a list of token ids");
        }
    }
    if (req.contains("model") && req["model"].is_string() && a.model.empty())
        a.model = req["model"].get<std::string>();
}

ArtifactSequence openai_sequence(const ojson &doc, const Where &w, Artifact &a, bool first) {
    ArtifactSequence s;
    const ojson *resp = &doc;
    if (doc.is_object() && doc.contains("response")) {
        resp = &doc["response"];
        if (doc.contains("request")) request_read(doc["request"], w, a, s, first);
        if (doc.contains("id") && doc["id"].is_string()) s.id = doc["id"].get<std::string>();
    }
    if (resp->is_object() && resp->contains("events")) {
        if (!(*resp)["events"].is_array()) throw InputError(w.at() + ": events is not a list");
        for (const ojson &ev : (*resp)["events"]) {
            if (!ev.is_string()) throw InputError(w.at() + ": an event is not a string");
            std::string line = ev.get<std::string>();
            if (line.rfind("data:", 0) == 0) line = line.substr(5);
            while (!line.empty() && std::isspace((unsigned char)line.front())) line.erase(0, 1);
            while (!line.empty() && std::isspace((unsigned char)line.back())) line.pop_back();
            if (line.empty() || line == "[DONE]") continue;
            const ojson e = json_parse_located<ojson>(nonfinite_mark(line), w.at() + " event");
            if (e.contains("choices") && e["choices"].is_array())
                for (const ojson &ch : e["choices"])
                    if (ch.contains("logprobs") && ch["logprobs"].is_object() &&
                        ch["logprobs"].contains("content"))
                        for (const ojson &c : ch["logprobs"]["content"])
                            s.positions.push_back(content_position(c, w, s.positions.size()));
        }
    } else {
        response_positions(*resp, w, s.positions);
    }
    // difr serve's extension object: the proof kind and the sampling it used (when no request came along).
    if (first && resp->is_object() && resp->contains("difr") && (*resp)["difr"].is_object()) {
        const ojson &d = (*resp)["difr"];
        if (d.contains("seed_proof") && d["seed_proof"].is_string()) {
            const std::string kind = d["seed_proof"].get<std::string>();
            a.proof = kind == "uniform"    ? SeedProofKind::uniform
                      : kind == "weighted" ? SeedProofKind::weighted
                                           : SeedProofKind::none;
        }
        if (!doc.contains("request") && d.contains("sampling") && d["sampling"].is_object())
            request_read(d["sampling"], w, a, s, true);
    }
    if (resp->is_object() && resp->contains("model") && (*resp)["model"].is_string() && a.model.empty())
        a.model = (*resp)["model"].get<std::string>();
    if (s.id.empty() && resp->is_object() && resp->contains("id") && (*resp)["id"].is_string())
        s.id = (*resp)["id"].get<std::string>();
    return s;
}

ArtifactSequence difr_sequence(const ojson &j, const Where &w) {
    if (!j.is_object()) throw InputError(w.at() + ": not an object");
    ArtifactSequence s;
    if (!j.contains("id") || !j["id"].is_string())
        throw InputError(w.at() + ": id (the sequence id) is missing");
    s.id = j["id"].get<std::string>();
    if (j.contains("prompt_token_ids")) {
        if (!j["prompt_token_ids"].is_array()) throw InputError(w.at() + ": prompt_token_ids is not a list");
        for (size_t i = 0; i < j["prompt_token_ids"].size(); ++i)
            s.prompt_token_ids.push_back(
                id_of(j["prompt_token_ids"][i], w, i, "prompt_token_ids[" + std::to_string(i) + "]"));
    }
    if (!j.contains("positions") || !j["positions"].is_array())
        throw InputError(w.at() + ": positions is missing (the artifact has no logprobs)");
    for (size_t pos = 0; pos < j["positions"].size(); ++pos) {
        const ojson &e = j["positions"][pos];
        if (!e.is_object() || !e.contains("token")) throw InputError(w.at(pos) + ": token is missing");
        ArtifactPosition p;
        p.id = id_of(e["token"], w, pos, "token");
        p.token = std::to_string(p.id);
        if (!e.contains("logprob")) throw InputError(w.at(pos) + ": logprob is missing");
        p.logprob = logprob_of(e["logprob"], w, pos, "logprob");
        if (!e.contains("top") || !e["top"].is_array())
            throw InputError(w.at(pos) + ": top is missing (the top-k ids and logprobs)");
        for (size_t r = 0; r < e["top"].size(); ++r) {
            const ojson &t = e["top"][r];
            const std::string f = "top[" + std::to_string(r) + "]";
            if (!t.is_array() || t.size() != 2)
                throw InputError(w.at(pos) + ": " + f + " must be [token id, logprob]");
            ArtifactTop top;
            top.id = id_of(t[0], w, pos, f + "[0]");
            top.token = std::to_string(top.id);
            top.logprob = logprob_of(t[1], w, pos, f + "[1]");
            p.top.push_back(std::move(top));
        }
        s.positions.push_back(std::move(p));
    }
    return s;
}

void difr_header(const ojson &doc, Artifact &a) {
    const std::string &f = a.path;
    if (doc.contains("model") && doc["model"].is_string()) a.model = doc["model"].get<std::string>();
    if (!doc.contains("k") || !doc["k"].is_number_integer() || doc["k"].get<int64_t>() < 1)
        throw InputError(f + ": k must be a positive integer");
    a.k = doc["k"].get<int32_t>();
    if (doc.contains("sampling")) {
        const ojson &s = doc["sampling"];
        if (!s.is_object()) throw InputError(f + ": sampling is not an object");
        auto num = [&](const char *key, double &dst) {
            if (!s.contains(key) || s[key].is_null()) return;
            if (!s[key].is_number())
                throw InputError(f + ": sampling." + std::string(key) + " must be a number");
            dst = s[key].get<double>();
        };
        num("temperature", a.sampling.temperature);
        num("top_p", a.sampling.top_p);
        num("min_p", a.sampling.min_p);
        if (s.contains("top_k")) {
            if (!s["top_k"].is_number_integer()) throw InputError(f + ": sampling.top_k must be an integer");
            a.sampling.top_k = s["top_k"].get<int32_t>();
        }
        if (s.contains("seed") && !s["seed"].is_null()) {
            if (!s["seed"].is_number_integer())
                throw InputError(f + ": sampling.seed must be a JSON integer (the seed encoding of " +
                                 std::string(kArtifactFormat) + "), got " + s["seed"].dump());
            a.sampling.seed = s["seed"].get<int64_t>();
        }
    }
    if (doc.contains("proof")) {
        const ojson &p = doc["proof"];
        if (!p.is_object() || !p.contains("kind") || !p["kind"].is_string())
            throw InputError(f + ": proof.kind is missing");
        const std::string kind = p["kind"].get<std::string>();
        if (kind == "uniform")
            a.proof = SeedProofKind::uniform;
        else if (kind == "weighted")
            a.proof = SeedProofKind::weighted;
        else if (kind != "none")
            throw InputError(f + ": proof.kind '" + kind + "' is not none, uniform or weighted");
        if (p.contains("encoding") && p["encoding"].is_string())
            a.seed_encoding = p["encoding"].get<std::string>();
        if (a.proof != SeedProofKind::none && !a.sampling.seed)
            throw InputError(f + ": a " + kind + " seed proof needs sampling.seed (a JSON integer)");
    }
}

}  // namespace

const char *seed_proof_name(SeedProofKind k) {
    switch (k) {
        case SeedProofKind::uniform:
            return "uniform";
        case SeedProofKind::weighted:
            return "weighted";
        default:
            return "none";
    }
}

Artifact artifact_read(const std::string &path) {
    const std::string text = file_read_text(path, "artifact");
    const ojson doc = json_parse_located<ojson>(nonfinite_mark(text), path);
    Artifact a;
    a.path = path;
    if (doc.is_object() && doc.contains("format")) {
        if (doc["format"] != kArtifactFormat)
            throw InputError(path + ": format " + doc["format"].dump() + " is not " + kArtifactFormat);
        a.source = "difr";
        difr_header(doc, a);
        if (!doc.contains("sequences") || !doc["sequences"].is_array())
            throw InputError(path + ": sequences is missing");
        for (size_t i = 0; i < doc["sequences"].size(); ++i)
            a.sequences.push_back(difr_sequence(doc["sequences"][i], Where{path, i}));
    } else {
        a.source = "openai";
        if (doc.is_array()) {
            for (size_t i = 0; i < doc.size(); ++i)
                a.sequences.push_back(openai_sequence(doc[i], Where{path, i}, a, i == 0));
        } else {
            a.sequences.push_back(openai_sequence(doc, Where{path, 0}, a, true));
        }
        if (a.sampling.top_k > 0 || a.sampling.seed) a.seed_encoding = "request";
    }
    if (a.sequences.empty()) throw InputError(path + ": the artifact holds no sequence");
    // One k for the whole artifact: the first position's list length.
    int32_t k = -1;
    for (size_t i = 0; i < a.sequences.size(); ++i) {
        const ArtifactSequence &s = a.sequences[i];
        if (s.positions.empty()) throw InputError(Where{path, i}.at() + ": no positions (no logprobs)");
        for (size_t pos = 0; pos < s.positions.size(); ++pos) {
            const int32_t n = (int32_t)s.positions[pos].top.size();
            if (n == 0)
                throw InputError(Where{path, i}.at(pos) +
                                 ": top_logprobs is empty (the request must ask for top_logprobs >= 1)");
            if (k < 0) k = n;
            if (n != k)
                throw InputError(Where{path, i}.at(pos) + ": " + std::to_string(n) +
                                 " top logprobs where earlier positions have " + std::to_string(k) +
                                 " (k must be the same at every position)");
        }
    }
    if (a.source == "difr" && k != a.k)
        throw InputError(path + ": k is " + std::to_string(a.k) + " but the positions list " +
                         std::to_string(k) + " tokens");
    a.k = k;
    for (size_t i = 0; i < a.sequences.size() && a.proof != SeedProofKind::none; ++i) {
        if (!a.sampling.seed)
            throw InputError(path + ": a " + std::string(seed_proof_name(a.proof)) +
                             " seed proof needs a seed");
        if (a.proof == SeedProofKind::uniform && !seed_uuid_valid(a.sequences[i].id))
            throw InputError(Where{path, i}.at() + ": id '" + a.sequences[i].id +
                             "' is not a canonical lowercase UUID (the uniform seed proof's sequence id)");
        if (a.proof == SeedProofKind::weighted) try {
                seed_chain_bound(*a.sampling.seed, a.sequences[i].id);
            } catch (const InputError &e) {
                throw InputError(Where{path, i}.at() + ": id (the weighted seed proof's " + e.what() + ")");
            }
    }
    return a;
}

namespace {

// "123" or "token_id:123" -> 123; anything else -> -1.
int64_t id_spelled(const std::string &t) {
    std::string s = t.rfind("token_id:", 0) == 0 ? t.substr(9) : t;
    if (s.empty() || s.size() > 10) return -1;
    for (char c : s)
        if (c < '0' || c > '9') return -1;
    return std::stoll(s);
}

}  // namespace

void artifact_resolve(Artifact &a, const Model &model, int32_t n_ctx) {
    const int32_t n_vocab = model.n_vocab();
    bool all_given = true, all_spelled = true;
    for (const ArtifactSequence &s : a.sequences)
        for (const ArtifactPosition &p : s.positions) {
            all_given = all_given && p.id >= 0;
            all_spelled = all_spelled && id_spelled(p.token) >= 0;
            for (const ArtifactTop &t : p.top) {
                all_given = all_given && t.id >= 0;
                all_spelled = all_spelled && id_spelled(t.token) >= 0;
            }
        }
    std::unordered_map<std::string, std::vector<int32_t>> by_piece;
    if (!all_given && !all_spelled)
        for (int32_t id = 0; id < n_vocab; ++id) by_piece[model.token_piece(id)].push_back(id);
    for (size_t i = 0; i < a.sequences.size(); ++i) {
        const Where w{a.path, i};
        auto resolve = [&](int32_t &id, const std::string &token, size_t pos, const std::string &what) {
            if (!all_given) {
                if (all_spelled) {
                    id = (int32_t)std::min<int64_t>(id_spelled(token), INT32_MAX);
                } else {
                    auto it = by_piece.find(token);
                    if (it == by_piece.end())
                        throw InputError(w.at(pos) + ": " + what + " '" + token +
                                         "' is no token of the model's vocabulary");
                    if (it->second.size() > 1)
                        throw InputError(w.at(pos) + ": " + what + " '" + token + "' is spelled by " +
                                         std::to_string(it->second.size()) +
                                         " tokens of the vocabulary (ids " + std::to_string(it->second[0]) +
                                         ", " + std::to_string(it->second[1]) +
                                         "); ask the prover for token ids");
                    id = it->second[0];
                }
            }
            if (id < 0 || id >= n_vocab)
                throw InputError(w.at(pos) + ": " + what + " id " + std::to_string(id) +
                                 " is outside the model's vocabulary [0, " + std::to_string(n_vocab) + ")");
        };
        ArtifactSequence &s = a.sequences[i];
        for (size_t pos = 0; pos < s.positions.size(); ++pos) {
            ArtifactPosition &p = s.positions[pos];
            resolve(p.id, p.token, pos, "token");
            for (size_t r = 0; r < p.top.size(); ++r)
                resolve(p.top[r].id, p.top[r].token, pos, "top_logprobs[" + std::to_string(r) + "] token");
        }
        for (size_t pos = 0; pos < s.prompt_token_ids.size(); ++pos)
            if (s.prompt_token_ids[pos] >= n_vocab)
                throw InputError(w.at() + ": prompt token " + std::to_string(pos) + " id " +
                                 std::to_string(s.prompt_token_ids[pos]) + " is outside the vocabulary");
        const size_t prompt = s.prompt_token_ids.size();
        if (n_ctx > 0 && prompt + s.positions.size() > (size_t)n_ctx)
            throw InputError(w.at(n_ctx > (int32_t)prompt ? (size_t)n_ctx - prompt : 0) + ": " +
                             std::to_string(s.positions.size()) + " positions after a " +
                             std::to_string(prompt) + "-token prompt exceed the model's context of " +
                             std::to_string(n_ctx) +
                             " tokens (this is the first position that does not fit)");
    }
}

std::vector<int32_t> artifact_prompt_tokens(const Artifact &a, size_t i, const Model &model) {
    const ArtifactSequence &s = a.sequences[i];
    if (!s.prompt_token_ids.empty()) return s.prompt_token_ids;
    if (!s.messages.empty()) return model.chat_tokenize(s.messages);
    if (s.prompt_text) return model.tokenize(*s.prompt_text, true, false);
    throw InputError(
        a.path + ": sequence " + std::to_string(i) +
        ": the artifact carries no prompt (give the request with the response: {\"request\": ..., "
        "\"response\": ...}) so the reference cannot re-score it");
}

std::vector<GonkaPosition> artifact_gonka_positions(const ArtifactSequence &s) {
    std::vector<GonkaPosition> out;
    out.reserve(s.positions.size());
    for (const ArtifactPosition &p : s.positions) {
        GonkaPosition g{p.token, p.logprob, {}};
        for (const ArtifactTop &t : p.top) g.top.push_back({t.token, t.logprob});
        out.push_back(std::move(g));
    }
    return out;
}

std::string artifact_to_json(const Artifact &a) {
    ojson doc;
    doc["format"] = kArtifactFormat;
    doc["model"] = a.model;
    doc["k"] = a.k;
    doc["sampling"] = {{"temperature", a.sampling.temperature},
                       {"top_k", a.sampling.top_k},
                       {"top_p", a.sampling.top_p},
                       {"min_p", a.sampling.min_p},
                       {"seed", a.sampling.seed ? ojson(*a.sampling.seed) : ojson(nullptr)}};
    doc["proof"] = {{"kind", seed_proof_name(a.proof)}, {"encoding", a.seed_encoding}};
    ojson seqs = ojson::array();
    for (const ArtifactSequence &s : a.sequences) {
        ojson j;
        j["id"] = s.id;
        j["prompt_token_ids"] = s.prompt_token_ids;
        ojson pos = ojson::array();
        for (const ArtifactPosition &p : s.positions) {
            ojson top = ojson::array();
            for (const ArtifactTop &t : p.top) top.push_back({t.id, t.logprob});
            pos.push_back({{"token", p.id}, {"logprob", p.logprob}, {"top", top}});
        }
        j["positions"] = pos;
        seqs.push_back(j);
    }
    doc["sequences"] = seqs;
    return doc.dump() + "\n";
}

void artifact_write(const std::string &path, const Artifact &a) {
    file_write_atomic(path, artifact_to_json(a));
}

std::string artifact_new_uuid() {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    const uint64_t hi = rng(), lo = rng();
    unsigned char b[16];
    for (int i = 0; i < 8; ++i) b[i] = (unsigned char)(hi >> (56 - 8 * i));
    for (int i = 0; i < 8; ++i) b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char *hx = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += hx[b[i] >> 4];
        s += hx[b[i] & 15];
    }
    return s;
}

}  // namespace difr
