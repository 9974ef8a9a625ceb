// The prover: generation with a recording hook, and the draws a seed proof can replay.
#include "difr/artifact_prover.h"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "difr/error.h"
#include "difr/seed_proof.h"
#include "difr/topk.h"

namespace difr {

SamplingParams prover_sampling_params(const ArtifactSampling &s) {
    SamplingParams p;
    p.temperature = (float)s.temperature;
    p.top_k = s.top_k;
    p.top_p = (float)s.top_p;
    p.seed = s.seed ? (uint64_t)*s.seed : 0;
    return p;
}

Artifact artifact_generate(const Model &model, const EngineSettings &settings,
                           const std::vector<std::vector<int32_t>> &prompts, const ProverOptions &o,
                           GenerateStats *stats) {
    const int32_t n_vocab = model.n_vocab();
    Artifact a;
    a.source = "difr";
    a.model = model.description();
    a.sampling = o.sampling;
    a.proof = o.proof;
    a.k = o.k;
    if (o.k < 1 || o.k > n_vocab)
        throw InputError("k (top logprobs per position) " + std::to_string(o.k) + " is outside [1, " +
                         std::to_string(n_vocab) + "]");
    if (o.proof != SeedProofKind::none && !o.sampling.seed)
        throw InputError("a seed proof needs a seed (--seed)");
    DetsampleParams dp;
    if (o.proof == SeedProofKind::weighted) {
        if (!(o.sampling.temperature > 0))
            throw InputError(
                "the weighted seed proof needs temperature > 0 (greedy decoding has no draw to prove)");
        if (o.sampling.top_k <= 0)
            throw InputError(
                "the weighted seed proof needs top_k (bounded support, as PR #1448's validator requires)");
        a.k = std::max(o.k, std::min(o.sampling.top_k, n_vocab));
        dp.temperature = python_float_repr(o.sampling.temperature);
        dp.top_k = o.sampling.top_k;
        if (o.sampling.top_p < 1.0) dp.top_p = python_float_repr(o.sampling.top_p);
        if (o.sampling.min_p > 0) dp.min_p = python_float_repr(o.sampling.min_p);
        a.seed_encoding = std::string("gonka deterministic-sampling contract ") + kDetsampleContract;
    } else if (o.proof == SeedProofKind::uniform) {
        a.seed_encoding =
            "sha256(be_i64(seed) || uuid), Sha256CounterRng over its hex, below(k) per position";
    }
    a.sequences.resize(prompts.size());
    std::vector<std::string> bases(prompts.size());
    std::vector<std::unique_ptr<Sha256CounterRng>> uniform(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        ArtifactSequence &s = a.sequences[i];
        s.id = i < o.ids.size() ? o.ids[i] : artifact_new_uuid();
        s.prompt_token_ids = prompts[i];
        if (o.proof == SeedProofKind::weighted) bases[i] = seed_chain_bound(*o.sampling.seed, s.id);
        if (o.proof == SeedProofKind::uniform)
            uniform[i] = std::make_unique<Sha256CounterRng>(seed_uniform_run_seed(*o.sampling.seed, s.id));
    }

    GenerateOptions g;
    g.sampling = prover_sampling_params(o.sampling);
    g.noise = NoiseProfile::vllm;
    if (auto p = noise_profile_from_name(o.noise))
        g.noise = *p;
    else
        throw InputError("unknown noise profile '" + o.noise + "'");
    if (o.sampling.min_p > 0 && o.proof != SeedProofKind::weighted)
        g.sampling.min_p = (float)o.sampling.min_p;
    g.max_tokens = o.max_tokens;
    g.stop_at_eog = o.stop_at_eog;
    // Rows are recorded per (sequence, position); the generator calls back in order within a sequence.
    std::mutex mu;
    TopkLogprobs row_top;
    auto record = [&](size_t seq, std::span<const float> row, int32_t token) {
        topk_logprobs_from_logits(row, a.k, token, row_top);
        ArtifactPosition p;
        p.id = token;
        p.token = std::to_string(token);
        p.logprob = row_top.claimed_logprob;
        for (const TopkEntry &e : row_top.top)
            p.top.push_back({e.token_id, std::to_string(e.token_id), e.logprob});
        a.sequences[seq].positions.push_back(std::move(p));
    };
    if (o.proof == SeedProofKind::weighted) {
        g.sampler = [&](size_t seq, int32_t j, std::span<const float> row) {
            std::lock_guard<std::mutex> lock(mu);
            topk_logprobs_from_logits(row, a.k, -1, row_top);
            std::map<std::string, std::string> lps;
            for (const TopkEntry &e : row_top.top)
                lps[std::to_string(e.token_id)] = python_float_repr((double)e.logprob);
            Sha256CounterRng rng(seed_position(bases[seq], (size_t)j));
            return (int32_t)std::stol(detsample_sample(lps, dp, rng));
        };
    } else if (o.proof == SeedProofKind::uniform) {
        g.sampler = [&](size_t seq, int32_t, std::span<const float> row) {
            std::lock_guard<std::mutex> lock(mu);
            topk_logprobs_from_logits(row, a.k, -1, row_top);
            return row_top.top[uniform[seq]->below(row_top.top.size())].token_id;
        };
    }
    g.on_row = [&](size_t seq, int32_t, std::span<const float> row, int32_t token) {
        std::lock_guard<std::mutex> lock(mu);
        record(seq, row, token);
    };
    g.on_hidden = o.on_hidden;
    generate(model, settings, prompts, g, stats);
    return a;
}

std::vector<std::vector<ArtifactPosition>> artifact_score_tokens(
    const Model &model, Scorer &scorer, std::span<const TokenSequence> seqs, int32_t k,
    const std::vector<std::vector<std::vector<int32_t>>> &at_ids, const HiddenCallback &on_hidden) {
    const int32_t n_vocab = model.n_vocab();
    std::vector<std::vector<ArtifactPosition>> out(seqs.size());
    for (size_t s = 0; s < seqs.size(); ++s) {
        out[s].resize(seqs[s].output_token_ids.size());
        if (s < at_ids.size())
            for (size_t j = 0; j < at_ids[s].size(); ++j)
                for (int32_t id : at_ids[s][j])
                    if (id < 0 || id >= n_vocab)
                        throw InputError("sequence " + std::to_string(s) + ", position " + std::to_string(j) +
                                         ": top token id " + std::to_string(id) +
                                         " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
    TopkLogprobs row;
    const RowCallback on_row = [&](size_t s, int32_t j, std::span<const float> l) {
        const int32_t token = seqs[s].output_token_ids[(size_t)j];
        const std::vector<int32_t> *ids =
            s < at_ids.size() && (size_t)j < at_ids[s].size() && !at_ids[s][(size_t)j].empty()
                ? &at_ids[s][(size_t)j]
                : nullptr;
        topk_logprobs_from_logits(l, ids ? 0 : k, token, row);
        ArtifactPosition &p = out[s][(size_t)j];
        p.id = token;
        p.token = std::to_string(token);
        p.logprob = row.claimed_logprob;
        if (ids) {
            // The same row statistics as topk_logprobs_from_logits: float maximum, double sum, float log.
            float max_l = -INFINITY;
            for (float x : l) max_l = std::max(max_l, x);
            double sum = 0.0;
            for (float x : l) sum += std::exp(x - max_l);
            const float log_sum = (float)std::log(sum);
            for (int32_t id : *ids)
                p.top.push_back({id, std::to_string(id), (double)((l[(size_t)id] - max_l) - log_sum)});
        } else {
            for (const TopkEntry &e : row.top)
                p.top.push_back({e.token_id, std::to_string(e.token_id), e.logprob});
        }
    };
    scorer.score(seqs, on_row, {}, on_hidden);
    return out;
}

}  // namespace difr
