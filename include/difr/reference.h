// The reference that re-scores claimed tokens: the local engine (verify.h) or a remote prompt-logprob
// endpoint (Fireworks-style echo, vLLM prompt_logprobs) whose top-k rows become metrics with every token
// outside the top k at -inf, as token-difr does. Used by `difr audit` and by `difr verify --reference`.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "difr/http.h"
#include "difr/metrics.h"
#include "difr/model.h"
#include "difr/noise.h"
#include "difr/remote.h"
#include "difr/results.h"
#include "difr/sampling.h"
#include "difr/sequences.h"
#include "difr/verify.h"

namespace difr {

struct ReferenceSpec {
    enum class Kind { local, remote } kind = Kind::local;
    LogprobWire wire = LogprobWire::fireworks_echo;  // remote only
    Endpoint endpoint;                               // remote only
    int32_t topk = 5;                                // remote only: top_logprobs requested per row
    // What the store keys reference rows by and results record: "local:<model file sha256>" or
    // "fireworks_echo:<url> model=<m> k=<k>".
    std::string describe(const Model &model) const;
    // Provenance: {"kind": "local"} or {"kind": "topk", "k": 5, "wire": "fireworks_echo",
    // "url": "<base URL, redacted>", "model": "<m>"}.
    std::string to_json() const;
};

// "local", "fireworks=URL" or "vllm=URL" (URL up to /v1; trailing slashes dropped). `model` is the name
// sent to a remote reference; `key_env` the variable holding its key (empty: FIREWORKS_API_KEY for a
// fireworks.ai URL, else none). Throws InputError naming `option` and the spec.
ReferenceSpec reference_spec_parse(const std::string &spec, const std::string &model,
                                   const std::string &key_env, int32_t topk,
                                   const std::string &option = "--reference");

// Metrics of the claimed `output` tokens from top-k rows (one per output token), -inf outside the top k.
// `logprob` is the claimed token's logprob as the reference returned it (-inf outside the top k).
std::vector<TokenMetrics> topk_rows_metrics(std::span<const TopkRow> rows, std::span<const int32_t> output,
                                            const SamplingParams &sampling, NoiseProfile noise,
                                            int64_t prompt_len, int32_t n_vocab);

// One sequence scored by a remote prompt-logprob reference. Throws RemoteError naming the endpoint and
// `seq_index`.
std::vector<TokenMetrics> reference_remote_score(const ReferenceSpec &ref, const TokenSequence &seq,
                                                 const SamplingParams &sampling, NoiseProfile noise,
                                                 int32_t n_vocab, const std::string &api_key,
                                                 const HttpOptions &http, size_t seq_index);

// Called once per scored sequence, one call at a time, in the order the answers complete.
using ReferenceScored = std::function<void(size_t seq, std::span<const TokenMetrics> metrics)>;

// Scores seqs[i] for every i in `indices` (each with output tokens) against a remote reference, with at
// most `concurrency` requests in flight. The key is endpoint_api_key(ref.endpoint) (InputError when a named
// variable is missing). After the first failure no new request starts; the running ones finish and are passed
// to `on_scored`, then the RemoteError is rethrown.
void reference_remote_score_many(const ReferenceSpec &ref, std::span<const TokenSequence> seqs,
                                 std::span<const size_t> indices, const SamplingParams &sampling,
                                 NoiseProfile noise, int32_t n_vocab, const HttpOptions &http,
                                 int32_t concurrency, const ReferenceScored &on_scored);

struct RemoteVerifyOptions {
    VerifyOptions verify;
    int32_t concurrency = 8;  // requests in flight
    HttpOptions http;
};

// verify_sequences against a remote reference: every sequence is checked against the vocabulary first
// (InputError naming sequence and position), then scored over HTTP. Whole sequences go to `writer` and
// `sink` in input order as soon as they and all before them are scored, so after a RemoteError the
// sequences before the first unfinished one are written. result.stats counts the tokens sent (prompt +
// output) and the rows scored; decode_calls stays 0.
VerifyResult verify_sequences_remote(const ReferenceSpec &ref, int32_t n_vocab,
                                     std::span<const TokenSequence> seqs, const RemoteVerifyOptions &options,
                                     TokenMetricsWriter *writer = nullptr,
                                     const VerifyProgress &progress = {}, const VerifySink &sink = {});

// How two references judge the same claimed tokens ("trusting the reference": one checked against another).
struct ReferenceAgreement {
    int64_t tokens_compared = 0;
    int64_t exact_match_agreed = 0;  // both say the claimed token is their choice, or both say it is not
    int64_t logprobs_compared = 0;   // tokens where both logprobs are finite (a top-k reference gives -inf
                                     // outside its top k)
    double max_abs_logprob_diff = 0.0;
    double sum_abs_logprob_diff = 0.0;
};

// Adds one sequence's metrics from each reference. Throws std::invalid_argument when the lengths differ.
void reference_agreement_add(ReferenceAgreement &agreement, std::span<const TokenMetrics> a,
                             std::span<const TokenMetrics> b);
// exact_match_agreed / tokens_compared; NaN when nothing was compared.
double reference_agreement_rate(const ReferenceAgreement &agreement);
// sum_abs_logprob_diff / logprobs_compared; NaN when no logprob was compared.
double reference_agreement_mean_logprob_diff(const ReferenceAgreement &agreement);

}  // namespace difr
