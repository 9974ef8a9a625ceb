// The prover's and the verifier's side of activation proofs: hidden rows in, fingerprints and TOPLOC proofs
// (or their checks) out.
#include "difr/fingerprint_proofs.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "difr/error.h"
#include "difr/halfprec.h"
#include "difr/results.h"

namespace difr {

namespace {

void bf16_append(std::vector<uint16_t> &out, std::span<const float> hidden) {
    for (float v : hidden) out.push_back(bf16_from_float(v));
}

}  // namespace

ActivationProver::ActivationProver(const ActivationProofSpec &spec, int32_t n_embd)
    : spec_(spec), n_embd_(n_embd) {
    if (spec_.fingerprint) {
        spec_.fingerprint->dim = n_embd;
        projector_.emplace(*spec_.fingerprint);
    }
    if (spec_.toploc) {
        const ToplocSpec &t = *spec_.toploc;
        if (t.decode_batching_size < 1) throw InputError("--toploc-chunk must be at least 1");
        if (t.topk < 1 || int64_t(t.topk) > int64_t(n_embd))
            throw InputError("--toploc-topk must be between 1 and the hidden size " + std::to_string(n_embd) +
                             " (a chunk's last proof may cover a single token)");
    }
}

void ActivationProver::flush_chunk(State &st) {
    if (st.chunk.empty()) return;
    const ToplocProof p = toploc_proof_build(st.chunk, spec_.toploc->topk);
    st.proofs.toploc.push_back(base64_encode(toploc_proof_bytes(p)));
    st.chunk.clear();
}

void ActivationProver::add(size_t seq, int32_t j, std::span<const float> hidden) {
    State &st = active_[seq];
    if (j != st.proofs.tokens)
        throw std::logic_error("activation prover: sequence " + std::to_string(seq) + " row " +
                               std::to_string(j) + " out of order");
    if (hidden.size() != size_t(n_embd_)) throw std::logic_error("activation prover: wrong hidden size");
    if (projector_) {
        const size_t k = size_t(spec_.fingerprint->k);
        st.proofs.fingerprint.resize(st.proofs.fingerprint.size() + k);
        try {
            projector_->project(hidden, std::span(st.proofs.fingerprint).last(k));
        } catch (const std::range_error &e) {
            throw InputError("sequence " + std::to_string(seq) + ", output position " + std::to_string(j) +
                             ": " + e.what());
        }
    }
    ++st.proofs.tokens;
    if (spec_.toploc) {
        bf16_append(st.chunk, hidden);
        if (st.chunk.size() == size_t(spec_.toploc->decode_batching_size) * size_t(n_embd_)) flush_chunk(st);
    }
}

SequenceProofs ActivationProver::finish(size_t seq) {
    State st = std::move(active_[seq]);
    active_.erase(seq);
    if (spec_.toploc) flush_chunk(st);
    return std::move(st.proofs);
}

ActivationChecker::ActivationChecker(const ActivationProofsFile &claimed, std::span<const int64_t> lengths,
                                     int32_t n_embd, const ToplocThresholds &thresholds,
                                     ToplocSemantics semantics)
    : claimed_(claimed), n_embd_(n_embd), thresholds_(thresholds), semantics_(semantics) {
    if (claimed.n_embd != n_embd)
        throw InputError(claimed.path + ": the proofs are of hidden size " + std::to_string(claimed.n_embd) +
                         " (" + claimed.model + "), the reference model's is " + std::to_string(n_embd));
    if (claimed.sequences.size() != lengths.size())
        throw InputError(claimed.path + ": holds proofs for " + std::to_string(claimed.sequences.size()) +
                         " sequences, the token file has " + std::to_string(lengths.size()));
    for (size_t i = 0; i < lengths.size(); ++i)
        if (claimed.sequences[i].tokens != lengths[i])
            throw InputError(claimed.path + ": sequence " + std::to_string(i) + " has proofs for " +
                             std::to_string(claimed.sequences[i].tokens) + " tokens, the token file has " +
                             std::to_string(lengths[i]) + " output tokens");
    if (claimed.spec.fingerprint) {
        projector_.emplace(*claimed.spec.fingerprint);
        own_.resize(size_t(claimed.spec.fingerprint->k));
    }
    results_.resize(lengths.size());
    for (size_t i = 0; i < lengths.size(); ++i) results_[i].tokens.reserve(size_t(lengths[i]));
}

void ActivationChecker::check_chunk(size_t seq) {
    std::vector<uint16_t> &chunk = chunks_[seq];
    SequenceCheck &r = results_[seq];
    const ToplocSpec &t = *claimed_.spec.toploc;
    const size_t index = r.chunks.size();
    const std::string &b64 = claimed_.sequences[seq].toploc[index];
    ToplocProof proof;
    try {
        proof = toploc_proof_parse(base64_decode(b64), t.topk);
    } catch (const std::invalid_argument &e) {
        throw InputError(claimed_.path + ": sequence " + std::to_string(seq) + ", TOPLOC proof " +
                         std::to_string(index) + ": " + e.what());
    }
    ChunkToplocCheck c;
    c.tokens = int32_t(chunk.size() / size_t(n_embd_));
    c.first_token = int32_t(index) * t.decode_batching_size;
    c.result = toploc_proof_verify(proof, chunk, t.topk, semantics_);
    c.pass = thresholds_.pass(c.result);
    r.chunks.push_back(c);
    chunk.clear();
}

void ActivationChecker::add(size_t seq, int32_t j, std::span<const float> hidden) {
    SequenceCheck &r = results_.at(seq);
    const SequenceProofs &claim = claimed_.sequences[seq];
    if (projector_) {
        if (size_t(j) != r.tokens.size()) throw std::logic_error("activation checker: rows out of order");
        const size_t k = own_.size();
        projector_->project(hidden, own_);
        const std::span<const uint16_t> theirs = std::span(claim.fingerprint).subspan(size_t(j) * k, k);
        TokenFingerprintCheck c;
        const FingerprintDtype dt = claimed_.spec.fingerprint->dtype;
        c.l2 = fingerprint_distance(own_, theirs, dt);
        const double norm = fingerprint_norm(own_, dt);
        c.relative = norm > 0 ? c.l2 / norm : (c.l2 > 0 ? INFINITY : 0.0);
        r.tokens.push_back(c);
    }
    if (claimed_.spec.toploc) {
        std::vector<uint16_t> &chunk = chunks_[seq];
        bf16_append(chunk, hidden);
        const size_t dbs = size_t(claimed_.spec.toploc->decode_batching_size);
        if (chunk.size() == dbs * size_t(n_embd_) || int64_t(j) + 1 == claim.tokens) check_chunk(seq);
        if (int64_t(j) + 1 == claim.tokens) chunks_.erase(seq);
    }
}

FingerprintStats ActivationChecker::fingerprint_stats() const {
    FingerprintStats s;
    std::vector<double> l2;
    double rel = 0;
    int64_t zero = 0;
    for (const SequenceCheck &r : results_)
        for (const TokenFingerprintCheck &t : r.tokens) {
            l2.push_back(t.l2);
            rel += t.relative;
            s.max_relative = std::max(s.max_relative, t.relative);
            zero += t.l2 == 0.0;
        }
    s.tokens = int64_t(l2.size());
    if (l2.empty()) return s;
    std::sort(l2.begin(), l2.end());
    double sum = 0;
    for (double v : l2) sum += v;
    s.mean = sum / double(l2.size());
    s.median = l2[l2.size() / 2];
    s.p99 = l2[std::min(l2.size() - 1, size_t(std::ceil(0.99 * double(l2.size()))) - 1)];
    s.max = l2.back();
    s.mean_relative = rel / double(l2.size());
    s.zero_rate = double(zero) / double(l2.size());
    return s;
}

ToplocStats ActivationChecker::toploc_stats() const {
    ToplocStats s;
    for (const SequenceCheck &r : results_)
        for (const ChunkToplocCheck &c : r.chunks) {
            ++s.chunks;
            s.passed += c.pass;
            s.max_exp_mismatches = std::max(s.max_exp_mismatches, c.result.exp_mismatches);
            s.max_mant_err_mean = std::max(s.max_mant_err_mean, c.result.mant_err_mean);
            s.max_mant_err_median = std::max(s.max_mant_err_median, c.result.mant_err_median);
        }
    return s;
}

void activation_checks_write(const ActivationChecker &checker, const std::string &fingerprints_path,
                             const std::string &toploc_path) {
    const auto &results = checker.results();
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    if (checker.claimed().spec.fingerprint) {
        std::string text;
        for (size_t s = 0; s < results.size(); ++s)
            for (size_t j = 0; j < results[s].tokens.size(); ++j)
                text += nlohmann::ordered_json{{"seq", s},
                                               {"pos", j},
                                               {"l2", results[s].tokens[j].l2},
                                               {"relative", number(results[s].tokens[j].relative)}}
                            .dump() +
                        "\n";
        file_write_atomic(fingerprints_path, text);
    }
    if (checker.claimed().spec.toploc) {
        std::string text;
        for (size_t s = 0; s < results.size(); ++s)
            for (size_t c = 0; c < results[s].chunks.size(); ++c) {
                const ChunkToplocCheck &k = results[s].chunks[c];
                text += nlohmann::ordered_json{{"seq", s},
                                               {"chunk", c},
                                               {"first_token", k.first_token},
                                               {"tokens", k.tokens},
                                               {"exp_mismatches", k.result.exp_mismatches},
                                               {"mant_err_mean", k.result.mant_err_mean},
                                               {"mant_err_median", k.result.mant_err_median},
                                               {"pass", k.pass}}
                            .dump() +
                        "\n";
            }
        file_write_atomic(toploc_path, text);
    }
}

std::string fingerprint_stats_json(const FingerprintStats &s) {
    nlohmann::ordered_json j = {{"tokens", s.tokens},
                                {"l2_mean", s.mean},
                                {"l2_median", s.median},
                                {"l2_p99", s.p99},
                                {"l2_max", s.max},
                                {"relative_mean", s.mean_relative},
                                {"relative_max", s.max_relative},
                                {"identical_rate", s.zero_rate}};
    return j.dump();
}

std::string toploc_stats_json(const ToplocStats &s, const ToplocThresholds &t) {
    nlohmann::ordered_json j = {{"chunks", s.chunks},
                                {"passed", s.passed},
                                {"max_exp_mismatches", s.max_exp_mismatches},
                                {"max_mant_err_mean", s.max_mant_err_mean},
                                {"max_mant_err_median", s.max_mant_err_median},
                                {"thresholds",
                                 {{"max_exp_mismatches", t.max_exp_mismatches},
                                  {"max_mant_err_mean", t.max_mant_err_mean},
                                  {"max_mant_err_median", t.max_mant_err_median}}}};
    return j.dump();
}

}  // namespace difr
