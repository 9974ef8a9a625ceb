// References: parsing a reference spec, remote prompt-logprob scoring (top-k rows -> TokenMetrics), verifying
// saved sequences against a remote reference, and the agreement of two references on the same tokens.
#include "difr/reference.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "difr/error.h"
#include "difr/metrics.h"
#include "difr/noise.h"
#include "difr/scorer.h"
#include "difr/summary.h"

namespace difr {

namespace {

const char *wire_name(LogprobWire wire) {
    return wire == LogprobWire::fireworks_echo ? "fireworks_echo" : "vllm_prompt_logprobs";
}

}  // namespace

std::string ReferenceSpec::describe(const Model &model) const {
    if (kind == Kind::local) return "local:" + file_sha256(model.path());
    return std::string(wire_name(wire)) + ":" + url_redact(endpoint.base_url) + " model=" + endpoint.model +
           " k=" + std::to_string(topk);
}

std::string ReferenceSpec::to_json() const {
    if (kind == Kind::local) return nlohmann::ordered_json{{"kind", "local"}}.dump();
    return nlohmann::ordered_json{{"kind", "topk"},
                                  {"k", topk},
                                  {"wire", wire_name(wire)},
                                  {"url", url_redact(endpoint.base_url)},
                                  {"model", endpoint.model}}
        .dump();
}

ReferenceSpec reference_spec_parse(const std::string &spec, const std::string &model,
                                   const std::string &key_env, int32_t topk, const std::string &option) {
    ReferenceSpec r;
    if (spec == "local") return r;
    const size_t eq = spec.find('=');
    const std::string kind = spec.substr(0, eq);
    if (eq == std::string::npos || (kind != "fireworks" && kind != "vllm"))
        throw InputError(option + " '" + spec + "': expected local, fireworks=URL or vllm=URL");
    r.kind = ReferenceSpec::Kind::remote;
    r.wire = kind == "fireworks" ? LogprobWire::fireworks_echo : LogprobWire::vllm_prompt_logprobs;
    r.endpoint.base_url = spec.substr(eq + 1);
    while (!r.endpoint.base_url.empty() && r.endpoint.base_url.back() == '/') r.endpoint.base_url.pop_back();
    if (r.endpoint.base_url.rfind("http://", 0) != 0 && r.endpoint.base_url.rfind("https://", 0) != 0)
        throw InputError(option + " '" + spec + "': the URL must start with http:// or https://");
    r.endpoint.model = model;
    r.endpoint.api_key_env = key_env;
    if (key_env.empty() && r.endpoint.base_url.find("fireworks.ai") != std::string::npos)
        r.endpoint.api_key_env = "FIREWORKS_API_KEY";
    if (topk < 1) throw InputError("--reference-topk must be at least 1 (got " + std::to_string(topk) + ")");
    r.topk = topk;
    return r;
}

std::vector<TokenMetrics> topk_rows_metrics(std::span<const TopkRow> rows, std::span<const int32_t> output,
                                            const SamplingParams &sampling, NoiseProfile noise_profile,
                                            int64_t prompt_len, int32_t n_vocab) {
    // The single place where top-k rows become metrics. token-difr's semantics: a dense row of -inf with the
    // returned logprobs scattered in, scored like raw logits, so a remote reference gives the local engine's
    // metrics (token-difr's API-path numbers are topk.h's token_metrics_from_topk; docs/audit.md).
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    std::vector<float> dense(n_vocab, kNegInf);
    std::unique_ptr<NoiseStream> noise;
    if (!sampling_is_greedy(sampling)) noise = noise_stream_make(noise_profile, sampling.seed, n_vocab);
    MetricsScratch scratch;
    std::vector<TokenMetrics> out;
    out.reserve(rows.size());
    for (size_t j = 0; j < rows.size(); ++j) {
        for (const TopkEntry &e : rows[j]) {
            if (e.token_id < 0 || e.token_id >= n_vocab)
                throw RemoteError("reference row " + std::to_string(j) + ": token id " +
                                  std::to_string(e.token_id) + " is outside the vocabulary of " +
                                  std::to_string(n_vocab));
            dense[e.token_id] = e.logprob;
        }
        if (noise) noise->seek(prompt_len - 1 + (int64_t)j);
        TokenMetrics m = token_metrics_compute(dense, output[j], sampling, noise.get(), scratch);
        // The row already is log_softmax of the reference's logits: the claimed token's logprob is the value
        // it returned, not one renormalised over the top k (design.md section 2, item 8).
        m.logprob = dense[output[j]];
        out.push_back(m);
        for (const TopkEntry &e : rows[j]) dense[e.token_id] = kNegInf;
    }
    return out;
}

std::vector<TokenMetrics> reference_remote_score(const ReferenceSpec &ref, const TokenSequence &seq,
                                                 const SamplingParams &sampling, NoiseProfile noise,
                                                 int32_t n_vocab, const std::string &api_key,
                                                 const HttpOptions &http, size_t seq_index) {
    std::vector<int32_t> tokens = seq.prompt_token_ids;
    tokens.insert(tokens.end(), seq.output_token_ids.begin(), seq.output_token_ids.end());
    HttpRequest req;
    req.url = ref.endpoint.base_url + "/completions";
    req.body = prompt_logprobs_request_json(ref.wire, ref.endpoint.model, tokens, ref.topk);
    req.api_key = api_key;
    const std::string where =
        "reference POST " + url_redact(req.url) + " (sequence " + std::to_string(seq_index) + ")";
    HttpResponse resp;
    try {
        resp = http_send(req, http);
    } catch (const HttpError &e) {
        throw HttpError("reference (sequence " + std::to_string(seq_index) + "): " + e.what(), e.status());
    }
    const std::vector<TopkRow> rows =
        prompt_logprobs_parse(ref.wire, resp.body, tokens, seq.prompt_token_ids.size(),
                              seq.output_token_ids.size(), ref.topk, where);
    try {
        return topk_rows_metrics(rows, seq.output_token_ids, sampling, noise,
                                 (int64_t)seq.prompt_token_ids.size(), n_vocab);
    } catch (const RemoteError &e) {
        throw RemoteError(where + ": " + e.what());
    }
}

void reference_remote_score_many(const ReferenceSpec &ref, std::span<const TokenSequence> seqs,
                                 std::span<const size_t> indices, const SamplingParams &sampling,
                                 NoiseProfile noise, int32_t n_vocab, const HttpOptions &http,
                                 int32_t concurrency, const ReferenceScored &on_scored) {
    if (indices.empty()) return;
    const std::string api_key = endpoint_api_key(ref.endpoint);
    std::mutex mu;
    parallel_for(indices.size(), concurrency, [&](size_t b) {
        const size_t i = indices[b];
        const std::vector<TokenMetrics> ms =
            reference_remote_score(ref, seqs[i], sampling, noise, n_vocab, api_key, http, i);
        std::lock_guard<std::mutex> lock(mu);
        on_scored(i, ms);
    });
}

VerifyResult verify_sequences_remote(const ReferenceSpec &ref, int32_t n_vocab,
                                     std::span<const TokenSequence> seqs, const RemoteVerifyOptions &o,
                                     TokenMetricsWriter *writer, const VerifyProgress &progress,
                                     const VerifySink &sink) {
    if (ref.kind != ReferenceSpec::Kind::remote)
        throw std::invalid_argument("verify_sequences_remote needs a remote reference");
    sampling_validate(o.verify.sampling);
    if (o.verify.sampling.min_p > 0.0f ||
        (!sampling_is_greedy(o.verify.sampling) && o.verify.noise == NoiseProfile::llama_cpp))
        throw std::invalid_argument(
            "the llama.cpp profile (min_p, inverse CDF over llama.cpp's sampler chain) needs the full row of "
            "logits, which a top-k reference does not return: verify against the local reference");
    const auto t0 = std::chrono::steady_clock::now();
    VerifyResult result;
    std::vector<size_t> todo;
    for (size_t i = 0; i < seqs.size(); ++i) {
        sequence_check(seqs[i], i, n_vocab, std::numeric_limits<int32_t>::max());
        if (seqs[i].output_token_ids.empty()) continue;
        todo.push_back(i);
        result.stats.tokens_evaluated +=
            (int64_t)(seqs[i].prompt_token_ids.size() + seqs[i].output_token_ids.size());
        result.stats.rows += (int64_t)seqs[i].output_token_ids.size();
    }

    // Answers complete in any order; sequences are written in input order (as verify_sequences does), so a
    // finished sequence waits for those before it.
    SummaryAccumulator acc;
    std::map<size_t, std::vector<TokenMetrics>> finished;
    size_t next_flush = 0, done = seqs.size() - todo.size();
    auto flush = [&] {
        for (;;) {
            std::vector<TokenMetrics> ms;
            if (next_flush < seqs.size() && seqs[next_flush].output_token_ids.empty()) {
                // nothing to score: written as an empty sequence
            } else if (auto f = finished.find(next_flush); f != finished.end()) {
                ms = std::move(f->second);
                finished.erase(f);
            } else {
                return;
            }
            for (size_t j = 0; j < ms.size(); ++j) {
                acc.add(ms[j]);
                if (writer)
                    writer->write(next_flush, (int32_t)j, seqs[next_flush].output_token_ids[j], ms[j]);
            }
            acc.end_sequence();
            if (writer) writer->end_sequence();
            if (sink) sink(next_flush, ms);
            ++next_flush;
        }
    };
    flush();
    reference_remote_score_many(ref, seqs, todo, o.verify.sampling, o.verify.noise, n_vocab, o.http,
                                o.concurrency, [&](size_t i, std::span<const TokenMetrics> ms) {
                                    finished.emplace(i, std::vector<TokenMetrics>(ms.begin(), ms.end()));
                                    flush();
                                    if (progress) progress(++done, seqs.size());
                                    if (o.verify.interrupt_check) o.verify.interrupt_check();
                                });
    result.summary = acc.finish();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

void reference_agreement_add(ReferenceAgreement &a, std::span<const TokenMetrics> x,
                             std::span<const TokenMetrics> y) {
    if (x.size() != y.size())
        throw std::invalid_argument("reference_agreement_add: " + std::to_string(x.size()) + " against " +
                                    std::to_string(y.size()) + " metrics for the same sequence");
    for (size_t j = 0; j < x.size(); ++j) {
        ++a.tokens_compared;
        if (x[j].exact_match == y[j].exact_match) ++a.exact_match_agreed;
        if (std::isfinite(x[j].logprob) && std::isfinite(y[j].logprob)) {
            const double d = std::fabs((double)x[j].logprob - (double)y[j].logprob);
            ++a.logprobs_compared;
            a.sum_abs_logprob_diff += d;
            a.max_abs_logprob_diff = std::max(a.max_abs_logprob_diff, d);
        }
    }
}

double reference_agreement_rate(const ReferenceAgreement &a) {
    return a.tokens_compared ? (double)a.exact_match_agreed / (double)a.tokens_compared
                             : std::numeric_limits<double>::quiet_NaN();
}

double reference_agreement_mean_logprob_diff(const ReferenceAgreement &a) {
    return a.logprobs_compared ? a.sum_abs_logprob_diff / (double)a.logprobs_compared
                               : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace difr
