// The fingerprints file (JSON Lines; the layout is in difr/fingerprint_proofs.h and docs/fingerprints.md).
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/fingerprint_proofs.h"

namespace difr {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr const char *kFormat = "difr-fingerprints";
constexpr int kVersion = 1;

ojson header_json(const std::string &model, int32_t n_embd, const ActivationProofSpec &spec) {
    ojson h;
    h["format"] = kFormat;
    h["version"] = kVersion;
    h["model"] = model;
    h["n_embd"] = n_embd;
    if (spec.fingerprint) {
        const FingerprintSpec &f = *spec.fingerprint;
        h["fingerprint"] = {{"seed", f.seed},
                            {"k", f.k},
                            {"basis", fingerprint_basis_name(f.basis)},
                            {"dtype", fingerprint_dtype_name(f.dtype)},
                            {"bytes_per_token", f.bytes_per_token()}};
    } else {
        h["fingerprint"] = nullptr;
    }
    if (spec.toploc)
        h["toploc"] = {{"topk", spec.toploc->topk},
                       {"decode_batching_size", spec.toploc->decode_batching_size},
                       {"skip_prefill", true}};
    else
        h["toploc"] = nullptr;
    return h;
}

const json &field(const json &j, const char *key, const std::string &where) {
    auto it = j.find(key);
    if (it == j.end()) throw InputError(where + ": missing field '" + key + "'");
    return *it;
}

int64_t int_field(const json &j, const char *key, const std::string &where, int64_t lo, int64_t hi) {
    const json &v = field(j, key, where);
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
        throw InputError(where + ": '" + key + "' must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "]");
    return v.get<int64_t>();
}

std::string string_field(const json &j, const char *key, const std::string &where) {
    const json &v = field(j, key, where);
    if (!v.is_string()) throw InputError(where + ": '" + key + "' must be a string");
    return v.get<std::string>();
}

}  // namespace

ActivationProofsWriter::ActivationProofsWriter(const std::string &path, const std::string &model,
                                               int32_t n_embd, const ActivationProofSpec &spec)
    : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
    if (!out_) throw InputError("cannot create fingerprints file '" + path + "'");
    ActivationProofSpec s = spec;
    if (s.fingerprint) s.fingerprint->dim = n_embd;
    out_ << header_json(model, n_embd, s).dump() << "\n";
    out_.flush();
}

void ActivationProofsWriter::write(size_t seq, SequenceProofs proofs) {
    waiting_.emplace(seq, std::move(proofs));
    for (auto it = waiting_.find(next_); it != waiting_.end(); it = waiting_.find(next_)) {
        const SequenceProofs &p = it->second;
        ojson line;
        line["seq"] = next_;
        line["tokens"] = p.tokens;
        if (!p.fingerprint.empty() || p.tokens == 0) {
            std::vector<uint8_t> bytes;
            bytes.reserve(p.fingerprint.size() * 2);
            for (uint16_t v : p.fingerprint) {  // little-endian, as numpy's "<f2" and torch's storage
                bytes.push_back(uint8_t(v));
                bytes.push_back(uint8_t(v >> 8));
            }
            line["fingerprint"] = base64_encode(bytes);
        }
        line["toploc"] = p.toploc;
        out_ << line.dump() << "\n";
        waiting_.erase(it);
        ++next_;
    }
    out_.flush();
    if (!out_) throw InputError("cannot write fingerprints file '" + path_ + "'");
}

ActivationProofsFile activation_proofs_read(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot read fingerprints file '" + path + "'");
    ActivationProofsFile f;
    f.path = path;
    std::string line;
    int64_t lineno = 0;
    bool header = false;
    while (std::getline(in, line)) {
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(lineno);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception &e) {  // parse errors, and numbers beyond double's range ("1e999")
            if (!header)
                throw InputError(where +
                                 ": not a fingerprints file (its first line must be the header object "
                                 "with \"format\": \"" +
                                 std::string(kFormat) + "\")");
            throw InputError(where + ": malformed JSON: " + e.what());
        }
        if (!j.is_object())
            throw InputError(where + ": expected a JSON object" +
                             std::string(header ? "" : " (not a fingerprints file?)"));
        if (!header) {
            header = true;
            if (!j.contains("format") ||
                j["format"] != kFormat)  // not value(): a null format threw type_error
                throw InputError(where +
                                 ": not a fingerprints file (the first line must have \"format\": \"" +
                                 kFormat + "\")");
            if (int_field(j, "version", where, 0, 1 << 30) != kVersion)
                throw InputError(where + ": unsupported version (this difr reads version " +
                                 std::to_string(kVersion) + ")");
            f.model = string_field(j, "model", where);
            f.n_embd = int32_t(int_field(j, "n_embd", where, 1, 1 << 20));
            const json &fp = field(j, "fingerprint", where);
            if (!fp.is_null()) {
                const std::string w = where + ": fingerprint";
                FingerprintSpec s;
                const json &seed = field(fp, "seed", w);
                if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0))
                    throw InputError(w + ": 'seed' must be a non-negative integer");
                s.seed = seed.get<uint64_t>();
                s.k = int32_t(int_field(fp, "k", w, kFingerprintMinK, kFingerprintMaxK));
                s.dim = f.n_embd;
                try {
                    s.basis = fingerprint_basis_parse(string_field(fp, "basis", w));
                    s.dtype = fingerprint_dtype_parse(string_field(fp, "dtype", w));
                    s.validate();
                } catch (const std::invalid_argument &e) {
                    throw InputError(w + ": " + e.what());
                }
                f.spec.fingerprint = s;
            }
            const json &tl = field(j, "toploc", where);
            if (!tl.is_null()) {
                const std::string w = where + ": toploc";
                ToplocSpec t;
                t.topk = int32_t(int_field(tl, "topk", w, 1, f.n_embd));
                t.decode_batching_size = int32_t(int_field(tl, "decode_batching_size", w, 1, 1 << 20));
                if (tl.contains("skip_prefill") && tl["skip_prefill"] != true)
                    throw InputError(w +
                                     ": only skip_prefill = true (proofs of generated tokens) is read here; "
                                     "use difr toploc verify for prefill proofs");
                f.spec.toploc = t;
            }
            if (f.spec.empty()) throw InputError(where + ": holds neither fingerprints nor TOPLOC proofs");
            continue;
        }
        const int64_t seq = int_field(j, "seq", where, 0, INT64_MAX);
        if (seq != int64_t(f.sequences.size()))
            throw InputError(where + ": sequence " + std::to_string(seq) + " where " +
                             std::to_string(f.sequences.size()) +
                             " was expected (sequences in order, once each)");
        SequenceProofs p;
        p.tokens = int_field(j, "tokens", where, 0, INT32_MAX);
        if (f.spec.fingerprint) {
            std::vector<uint8_t> bytes;
            try {
                bytes = base64_decode(string_field(j, "fingerprint", where));
            } catch (const std::invalid_argument &e) {
                throw InputError(where + ": fingerprint: " + e.what());
            }
            const size_t want = size_t(p.tokens) * size_t(f.spec.fingerprint->k) * 2;
            if (bytes.size() != want)
                throw InputError(where + ": fingerprint has " + std::to_string(bytes.size()) + " bytes, " +
                                 std::to_string(p.tokens) + " tokens x k " +
                                 std::to_string(f.spec.fingerprint->k) + " need " + std::to_string(want));
            p.fingerprint.resize(bytes.size() / 2);
            for (size_t i = 0; i < p.fingerprint.size(); ++i)
                p.fingerprint[i] = uint16_t(bytes[2 * i] | (bytes[2 * i + 1] << 8));
        }
        if (f.spec.toploc) {
            const json &tl = field(j, "toploc", where);
            if (!tl.is_array()) throw InputError(where + ": 'toploc' must be an array of base64 proofs");
            const size_t want =
                toploc_chunk_count(size_t(p.tokens), f.spec.toploc->decode_batching_size, true);
            if (tl.size() != want)
                throw InputError(where + ": " + std::to_string(tl.size()) + " TOPLOC proofs for " +
                                 std::to_string(p.tokens) + " tokens in chunks of " +
                                 std::to_string(f.spec.toploc->decode_batching_size) + " (" +
                                 std::to_string(want) + " expected)");
            for (const json &b : tl) {
                if (!b.is_string()) throw InputError(where + ": every TOPLOC proof must be a base64 string");
                p.toploc.push_back(b.get<std::string>());
            }
        }
        f.sequences.push_back(std::move(p));
    }
    if (!header) throw InputError("fingerprints file '" + path + "' is empty");
    return f;
}

}  // namespace difr
