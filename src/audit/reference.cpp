// Remote prompt-logprob references: ask for the top-k rows of a sequence and turn them into TokenMetrics.
#include "reference.h"

#include <limits>
#include <memory>

#include "difr/error.h"
#include "difr/metrics.h"
#include "difr/noise.h"

namespace difr {

std::vector<TokenMetrics> topk_rows_metrics(std::span<const TopkRow> rows, std::span<const int32_t> output,
                                            const SamplingParams &sampling, NoiseProfile noise_profile,
                                            int64_t prompt_len, int32_t n_vocab) {
    // The single place where top-k rows become metrics. token-difr's semantics: a dense row of -inf with the
    // returned logprobs scattered in, scored like raw logits. To be replaced by topk.h's
    // token_metrics_from_topk when that lands; nothing else depends on how this is computed.
    std::vector<float> dense(n_vocab, -std::numeric_limits<float>::infinity());
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
        out.push_back(token_metrics_compute(dense, output[j], sampling, noise.get(), scratch));
        for (const TopkEntry &e : rows[j]) dense[e.token_id] = -std::numeric_limits<float>::infinity();
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
    const HttpResponse resp = http_send(req, http);
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

}  // namespace difr
