// Checkpoints of difr generate and difr verify (include/difr/checkpoint.h): reading what a killed run
// finished, strictly, and refusing what another run or another difr wrote.
#include "difr/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/results.h"

namespace difr {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int kFormat = 1;

// Calls fn(line, number, end) for each whole line of `text` (one that ends in '\n'); `end` is the offset
// just past its newline. A last line without its newline was torn by a kill and is not passed.
template <class Fn>
void whole_lines(const std::string &text, Fn &&fn) {
    size_t start = 0;
    for (size_t n = 1;; ++n) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string::npos) return;
        fn(std::string_view(text).substr(start, nl - start), n, nl + 1);
        start = nl + 1;
    }
}

json line_parse(std::string_view line, const std::string &where) {
    try {
        return json::parse(line);
    } catch (const json::parse_error &e) {
        throw InputError(where + ": malformed JSON at column " + std::to_string(e.byte) + ": " + e.what());
    } catch (const json::exception &e) {  // a number beyond double's range ("1e999")
        throw InputError(where + ": malformed JSON: " + e.what());
    }
}

// Flattens a JSON value into "a.b.c" -> value text, for saying which settings differ.
void flatten(const json &v, const std::string &prefix, std::map<std::string, std::string> &out) {
    if (v.is_object() && !v.empty()) {
        for (auto it = v.begin(); it != v.end(); ++it)
            flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
        return;
    }
    out[prefix] = v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The header of a checkpoint: {"difr_checkpoint": kind, "format": 1, "run": identity}. Throws InputError
// saying what the header is instead; returns how its run's identity differs from `identity` ("" if equal).
std::string header_check(const json &h, const std::string &kind, const std::string &identity,
                         const std::string &where, const std::string &old_hint) {
    if (!h.is_object() || !h.contains("difr_checkpoint")) throw InputError(where + old_hint);
    const json &k = h["difr_checkpoint"];
    if (!k.is_string() || k.get<std::string>() != kind)
        throw InputError(where + ": a difr checkpoint of " + k.dump() + ", not of difr " + kind);
    const json &f = h.contains("format") ? h["format"] : json();
    if (!f.is_number_integer() || f.get<int64_t>() != kFormat)
        throw InputError(where + ": checkpoint format " + f.dump() + "; this difr reads format " +
                         std::to_string(kFormat) +
                         ". It was written by another difr version: finish the run with that version, or "
                         "delete the checkpoint to start over");
    if (!h.contains("run") || !h["run"].is_object())
        throw InputError(where + ": the checkpoint header has no \"run\" object");
    return checkpoint_identity_diff(identity, h["run"].dump());
}

[[noreturn]] void other_run(const std::string &where, const std::string &diff) {
    throw InputError(
        where + ": the checkpoint belongs to a run with other settings (" + diff +
        "). Run again with that run's settings to finish it, or delete the checkpoint (or choose "
        "another output) to start this one");
}

std::string header_line(const std::string &kind, const std::string &identity) {
    json h = {{"difr_checkpoint", kind}, {"format", kFormat}, {"run", json::parse(identity)}};
    return h.dump() + "\n";
}

std::vector<int32_t> ids_get(const json &obj, const char *key, const std::string &where) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_array()) throw InputError(where + ": \"" + key + "\" must be an array");
    std::vector<int32_t> ids;
    ids.reserve(it->size());
    for (const json &t : *it) {
        if (!t.is_number_unsigned() || t.get<uint64_t>() > (uint64_t)INT32_MAX)
            throw InputError(where + ": \"" + key + "\" holds " + t.dump() + ", not a token id");
        ids.push_back((int32_t)t.get<uint64_t>());
    }
    return ids;
}

// A metric as TokenMetricsWriter writes it: a number, or null for the one non-finite value it can take.
float metric_get(const json &obj, const char *key, float if_null, const std::string &where) {
    auto it = obj.find(key);
    if (it == obj.end()) throw InputError(where + ": missing \"" + key + "\"");
    if (it->is_null()) return if_null;
    if (!it->is_number()) throw InputError(where + ": \"" + key + "\" must be a number or null");
    return it->get<float>();
}

}  // namespace

std::string checkpoint_identity_diff(const std::string &ours, const std::string &theirs) {
    std::map<std::string, std::string> a, b;
    flatten(json::parse(ours), "", a);
    flatten(json::parse(theirs), "", b);
    std::string diff;
    int shown = 0;
    for (const auto &[k, v] : a) {
        auto it = b.find(k);
        const std::string other = it == b.end() ? "absent" : it->second;
        if (other == v) continue;
        if (shown++ < 3)
            diff += (diff.empty() ? "" : "; ") + k + ": " + v + " here, " + other + " in the checkpoint";
    }
    for (const auto &[k, v] : b)
        if (!a.count(k) && shown++ < 3)
            diff += (diff.empty() ? "" : "; ") + k + ": absent here, " + v + " in the checkpoint";
    if (shown > 3) diff += "; and " + std::to_string(shown - 3) + " more";
    return diff;
}

// --- generate ---

GenerateCheckpointState generate_checkpoint_parse(const std::string &text, const std::string &source,
                                                  const std::string &identity,
                                                  const std::vector<std::vector<int32_t>> &prompts) {
    GenerateCheckpointState st;
    std::string diff;
    whole_lines(text, [&](std::string_view line, size_t n, size_t end) {
        const std::string where = source + ":" + std::to_string(n);
        const json j = line_parse(line, where);
        if (n == 1) {
            diff =
                header_check(j, "generate", identity, where,
                             ": not a difr generate checkpoint (no run header; a partial file of a difr "
                             "from before checkpoints, whose sequences cannot be checked against this run). "
                             "Verify them as they are, or delete the file to start over");
            st.valid_bytes = end;
            return;
        }
        // Another run's checkpoint that holds finished work is refused; one that holds none is replaced.
        if (!diff.empty()) other_run(source, diff);
        if (!j.is_object()) throw InputError(where + ": expected a finished sequence (a JSON object)");
        auto idx = j.find("index");
        if (idx == j.end() || !idx->is_number_unsigned() || idx->get<uint64_t>() >= prompts.size())
            throw InputError(where + ": \"index\" must be a prompt index below " +
                             std::to_string(prompts.size()));
        const size_t i = idx->get<size_t>();
        TokenSequence s;
        s.prompt_token_ids = ids_get(j, "prompt_token_ids", where);
        s.output_token_ids = ids_get(j, "output_token_ids", where);
        if (s.prompt_token_ids != prompts[i])
            throw InputError(where + ": the prompt of sequence " + std::to_string(i) +
                             " is not this run's prompt " + std::to_string(i));
        if (s.output_token_ids.empty())
            throw InputError(where + ": sequence " + std::to_string(i) + " has no output");
        if (!st.finished.emplace(i, std::move(s)).second)
            throw InputError(where + ": sequence " + std::to_string(i) + " appears twice");
        st.valid_bytes = end;
    });
    if (!diff.empty()) st.valid_bytes = 0;  // nothing finished: this run starts the file again
    return st;
}

GenerateCheckpoint::GenerateCheckpoint(const std::string &path, const std::string &identity,
                                       const std::vector<std::vector<int32_t>> &prompts)
    : path_(path) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
        state_ = generate_checkpoint_parse(file_read_text(path, "checkpoint"), path, identity, prompts);
        fs::resize_file(path, state_.valid_bytes, ec);  // a torn last line goes
        if (ec) throw InputError("cannot cut the torn end of '" + path + "': " + ec.message());
    }
    out_.open(path, std::ios::binary | std::ios::app);
    if (!out_) throw InputError("cannot write '" + path + "'");
    if (state_.valid_bytes == 0) out_ << header_line("generate", identity) << std::flush;
    if (!out_) throw InputError("writing '" + path + "' failed (disk full?)");
}

void GenerateCheckpoint::append(size_t index, const TokenSequence &seq) {
    out_ << json{{"index", index},
                 {"prompt_token_ids", seq.prompt_token_ids},
                 {"output_token_ids", seq.output_token_ids}}
                .dump()
         << "\n"
         << std::flush;
    if (!out_) throw InputError("writing '" + path_ + "' failed (disk full?)");
}

void GenerateCheckpoint::remove() {
    out_.close();
    std::error_code ec;
    fs::remove(path_, ec);
}

// --- verify ---

VerifyCheckpointState verify_tokens_parse(const std::string &text, const std::string &source,
                                          const std::vector<TokenSequence> &seqs) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    VerifyCheckpointState st;
    size_t seq = 0;
    std::vector<TokenMetrics> current;
    // Sequences without outputs have no rows: they are complete as soon as those before them are.
    auto skip_empty = [&] {
        while (seq < seqs.size() && seqs[seq].output_token_ids.empty()) {
            st.metrics.emplace_back();
            st.sequences_done = ++seq;
        }
    };
    skip_empty();
    whole_lines(text, [&](std::string_view line, size_t n, size_t end) {
        const std::string where = source + ":" + std::to_string(n);
        if (seq >= seqs.size())
            throw InputError(where + ": a row past the last of the input's " + std::to_string(seqs.size()) +
                             " sequences");
        const json j = line_parse(line, where);
        if (!j.is_object()) throw InputError(where + ": expected a token row (a JSON object)");
        const std::vector<int32_t> &out = seqs[seq].output_token_ids;
        const size_t pos = current.size();
        auto int_is = [&](const char *key, uint64_t want) {
            auto it = j.find(key);
            return it != j.end() && it->is_number_unsigned() && it->get<uint64_t>() == want;
        };
        if (!int_is("seq", seq) || !int_is("pos", pos) || !int_is("token", (uint64_t)out[pos]))
            throw InputError(where + ": expected the row of sequence " + std::to_string(seq) + ", position " +
                             std::to_string(pos) + ", token " + std::to_string(out[pos]) +
                             ": the file was not written for this input");
        TokenMetrics m;
        auto em = j.find("exact_match");
        auto pred = j.find("predicted");
        if (em == j.end() || !em->is_boolean())
            throw InputError(where + ": \"exact_match\" must be true or false");
        if (pred == j.end() || !pred->is_number_integer() || pred->get<int64_t>() < -1 ||
            pred->get<int64_t>() > INT32_MAX)
            throw InputError(where + ": \"predicted\" must be a token id");
        m.exact_match = em->get<bool>();
        m.predicted = (int32_t)pred->get<int64_t>();
        // null stands for the non-finite values, as the run store reads them (src/audit/store.cpp).
        m.prob = metric_get(j, "prob", 0.0f, where);
        m.margin = metric_get(j, "margin", inf, where);
        m.logit_rank = metric_get(j, "logit_rank", inf, where);
        m.gumbel_rank = metric_get(j, "gumbel_rank", inf, where);
        m.logprob = metric_get(j, "logprob", -inf, where);
        current.push_back(m);
        if (current.size() == out.size()) {
            st.metrics.push_back(std::move(current));
            current.clear();
            st.sequences_done = ++seq;
            st.valid_bytes = end;
            skip_empty();
        }
    });
    return st;
}

VerifyCheckpointState verify_checkpoint_open(const std::string &out_dir, const std::string &identity,
                                             const std::vector<TokenSequence> &seqs) {
    const std::string run_path = (fs::path(out_dir) / "verify-run.json").string();
    const std::string tokens_path = (fs::path(out_dir) / "tokens.jsonl").string();
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) throw InputError("cannot create output directory '" + out_dir + "': " + ec.message());
    if (!fs::exists(run_path)) {
        if (fs::exists(tokens_path) && fs::file_size(tokens_path, ec) > 0)
            throw InputError(
                "'" + out_dir +
                "' holds a tokens.jsonl without verify-run.json (from a difr before checkpoints, or "
                "another tool): its rows cannot be checked against this run. Choose another --out, "
                "or delete it to start over");
        file_write_atomic(run_path, header_line("verify", identity));
        std::ofstream(tokens_path, std::ios::trunc);
        return {};
    }
    const std::string header = file_read_text(run_path, "checkpoint");
    json h;
    try {
        h = json::parse(header);
    } catch (const json::exception &e) {
        throw InputError(run_path + ": malformed JSON: " + e.what());
    }
    const std::string diff = header_check(h, "verify", identity, run_path, ": not a difr verify checkpoint");
    if (!diff.empty()) {
        // Another run's directory: refused if it holds finished work, started again if it holds none (a run
        // that stopped on a bad option before verifying anything).
        if (fs::exists(tokens_path) && fs::file_size(tokens_path, ec) > 0) other_run(run_path, diff);
        file_write_atomic(run_path, header_line("verify", identity));
        std::ofstream(tokens_path, std::ios::trunc);
        return {};
    }
    if (!fs::exists(tokens_path)) return {};
    VerifyCheckpointState st = verify_tokens_parse(file_read_text(tokens_path), tokens_path, seqs);
    fs::resize_file(tokens_path, st.valid_bytes, ec);  // a torn row or an unfinished sequence goes
    if (ec) throw InputError("cannot cut the unfinished end of '" + tokens_path + "': " + ec.message());
    return st;
}

}  // namespace difr
