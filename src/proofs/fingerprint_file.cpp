// The fingerprints file (JSON Lines; the layout is in difr/fingerprint_proofs.h and docs/fingerprints.md).
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/fingerprint_proofs.h"

namespace difr {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr const char *kFormat = "difr-fingerprints";
constexpr int kVersion = 1;

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

ojson activation_proofs_header_json(const std::string &model, int32_t n_embd,
                                    const ActivationProofSpec &spec) {
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

ojson activation_proofs_line_json(size_t seq, const SequenceProofs &p) {
    ojson line;
    line["seq"] = seq;
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
    return line;
}

ActivationProofBytes activation_proof_bytes(const ActivationProofSpec &spec, const SequenceProofs &p) {
    ActivationProofBytes b;
    if (spec.fingerprint) b.fingerprint = p.tokens * int64_t(spec.fingerprint->bytes_per_token());
    if (spec.toploc) b.toploc = int64_t(p.toploc.size()) * (2 + 2 * int64_t(spec.toploc->topk));
    return b;
}

ActivationProofsWriter::ActivationProofsWriter(const std::string &path, const std::string &model,
                                               int32_t n_embd, const ActivationProofSpec &spec)
    : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
    if (!out_) throw InputError("cannot create fingerprints file '" + path + "'");
    ActivationProofSpec s = spec;
    if (s.fingerprint) s.fingerprint->dim = n_embd;
    out_ << activation_proofs_header_json(model, n_embd, s).dump() << "\n";
    out_.flush();
}

void ActivationProofsWriter::write(size_t seq, SequenceProofs proofs) {
    waiting_.emplace(seq, std::move(proofs));
    for (auto it = waiting_.find(next_); it != waiting_.end(); it = waiting_.find(next_)) {
        out_ << activation_proofs_line_json(next_, it->second).dump() << "\n";
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

namespace {

// A request field's checks. `path` is the field as the message names it ("fingerprint.k"), `top` the
// request's top-level field it belongs to.
struct RequestField {
    std::string top;

    [[noreturn]] void fail(const std::string &path, const std::string &message) const {
        throw ActivationProofRequestError(top, path + ": " + message);
    }
    static std::string type_of(const json &v) { return v.is_number_float() ? "number" : v.type_name(); }

    int64_t integer(const json &v, const std::string &path, int64_t lo, int64_t hi) const {
        if (!v.is_number_integer()) fail(path, "expected an integer, got " + type_of(v));
        if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi))
            fail(path, v.dump() + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        const int64_t x = v.get<int64_t>();
        if (x < lo || x > hi)
            fail(path,
                 std::to_string(x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        return x;
    }
    std::string string(const json &v, const std::string &path) const {
        if (!v.is_string()) fail(path, "expected a string, got " + type_of(v));
        return v.get<std::string>();
    }
    // Every key of `obj` must be one of `keys`: a misspelt option must not silently fall back to a default.
    void known_keys(const json &obj, std::initializer_list<const char *> keys) const {
        for (const auto &item : obj.items()) {
            bool known = false;
            std::string list;
            for (const char *k : keys) {
                known = known || item.key() == k;
                list += std::string(list.empty() ? "" : ", ") + k;
            }
            if (!known) fail(top + "." + item.key(), "unknown field (" + top + " takes " + list + ")");
        }
    }
};

// Absent, null or false: the proof is not asked for.
const json *asked(const json &request, const char *name) {
    const auto it = request.find(name);
    if (it == request.end() || it->is_null() || (it->is_boolean() && !it->get<bool>())) return nullptr;
    return &*it;
}

}  // namespace

ActivationProofSpec activation_proof_request_parse(const json &request, int32_t n_embd) {
    ActivationProofSpec spec;
    if (!request.is_object()) return spec;
    if (const json *v = asked(request, "fingerprint")) {
        const RequestField f{"fingerprint"};
        FingerprintSpec s;
        s.dim = n_embd;
        if (v->is_number_integer()) {
            s.k = int32_t(f.integer(*v, "fingerprint", kFingerprintMinK, kFingerprintMaxK));
        } else if (v->is_object()) {
            f.known_keys(*v, {"k", "seed", "basis", "dtype"});
            if (!v->contains("k"))
                f.fail("fingerprint.k", "required: values per token, " + std::to_string(kFingerprintMinK) +
                                            " to " + std::to_string(kFingerprintMaxK));
            s.k = int32_t(f.integer((*v)["k"], "fingerprint.k", kFingerprintMinK, kFingerprintMaxK));
            if (v->contains("seed")) {
                const json &seed = (*v)["seed"];
                if (seed.is_number_unsigned())
                    s.seed = seed.get<uint64_t>();
                else
                    s.seed = uint64_t(f.integer(seed, "fingerprint.seed", 0, INT64_MAX));
            }
            try {
                if (v->contains("basis"))
                    s.basis = fingerprint_basis_parse(f.string((*v)["basis"], "fingerprint.basis"));
            } catch (const std::invalid_argument &e) {
                f.fail("fingerprint.basis", e.what());
            }
            try {
                if (v->contains("dtype"))
                    s.dtype = fingerprint_dtype_parse(f.string((*v)["dtype"], "fingerprint.dtype"));
            } catch (const std::invalid_argument &e) {
                f.fail("fingerprint.dtype", e.what());
            }
        } else {
            f.fail("fingerprint",
                   "expected k (an integer) or an object {\"k\", \"seed\", \"basis\", \"dtype\"}, got " +
                       RequestField::type_of(*v));
        }
        if (s.basis == FingerprintBasis::orthonormal && s.k > n_embd)
            f.fail("fingerprint.k", std::to_string(s.k) +
                                        " orthonormal directions do not fit the hidden size " +
                                        std::to_string(n_embd) + " (ask for fewer, or basis gaussian)");
        try {
            s.validate();
        } catch (const std::invalid_argument &e) {
            f.fail("fingerprint", e.what());
        }
        spec.fingerprint = s;
    }
    if (const json *v = asked(request, "toploc")) {
        const RequestField f{"toploc"};
        ToplocSpec t;
        if (v->is_object()) {
            f.known_keys(*v, {"topk", "decode_batching_size", "skip_prefill"});
            if (v->contains("topk")) t.topk = int32_t(f.integer((*v)["topk"], "toploc.topk", 1, n_embd));
            if (v->contains("decode_batching_size"))
                t.decode_batching_size = int32_t(
                    f.integer((*v)["decode_batching_size"], "toploc.decode_batching_size", 1, 1 << 20));
            if (v->contains("skip_prefill")) {
                const json &sp = (*v)["skip_prefill"];
                if (!sp.is_boolean())
                    f.fail("toploc.skip_prefill", "expected true or false, got " + RequestField::type_of(sp));
                if (!sp.get<bool>())
                    f.fail("toploc.skip_prefill",
                           "false is not offered: the proofs cover the generated tokens only (the "
                           "fingerprints file's skip_prefill layout, which difr verify checks); difr toploc "
                           "build makes prefill proofs from saved activations");
            }
        } else if (!v->is_boolean()) {
            f.fail("toploc",
                   "expected true or an object {\"topk\", \"decode_batching_size\", \"skip_prefill\"}, got " +
                       RequestField::type_of(*v));
        }
        if (t.topk > n_embd)  // the default 128 on a model narrower than that
            f.fail("toploc.topk", std::to_string(t.topk) + " is more than the hidden size " +
                                      std::to_string(n_embd) +
                                      " (a chunk's last proof may cover a single token)");
        spec.toploc = t;
    }
    return spec;
}

}  // namespace difr
