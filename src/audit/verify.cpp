#include "difr/verify.h"

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "difr/inverse_cdf.h"
#include "difr/llamacpp_sampler.h"

namespace difr {

namespace {

struct PendingRow {
    int32_t token;
    TokenMetrics m;
};

// Per-sequence state while its rows stream in: its noise and the rows kept until the sequence ends, so the
// JSONL holds whole sequences.
struct SeqState {
    std::unique_ptr<NoiseStream> noise;  // Gumbel profiles
    std::unique_ptr<LlamaCppRng> draws;  // the llama.cpp profile: one draw per output token, in order
    std::vector<PendingRow> rows;
};

}  // namespace

VerifyResult verify_sequences(Model &model, const EngineSettings &settings,
                              std::span<const TokenSequence> seqs, const VerifyOptions &options,
                              TokenMetricsWriter *writer, const VerifyProgress &progress,
                              const VerifySink &sink) {
    sampling_validate(options.sampling);
    if (options.sampling.min_p > 0.0f && options.noise != NoiseProfile::llama_cpp)
        throw std::invalid_argument("min_p is only defined for the llama.cpp profile (--noise llama.cpp)");
    const auto t0 = std::chrono::steady_clock::now();
    const int32_t n_vocab = model.n_vocab();
    const bool greedy = sampling_is_greedy(options.sampling);
    Scorer scorer(model, settings);
    SummaryAccumulator acc;
    MetricsScratch scratch;
    const bool inverse_cdf = !greedy && options.noise == NoiseProfile::llama_cpp;
    std::unique_ptr<LlamaCppSampler> chain;
    if (inverse_cdf) chain = std::make_unique<LlamaCppSampler>(options.sampling);
    std::vector<int32_t> chain_ids;
    std::vector<float> chain_x;
    std::map<size_t, SeqState> active;
    size_t done = 0;

    auto on_row = [&](size_t seq, int32_t j, std::span<const float> logits) {
        SeqState &st = active[seq];
        const TokenSequence &ts = seqs[seq];
        const int32_t claimed = ts.output_token_ids[j];
        if (inverse_cdf) {
            // Rows of a sequence arrive in order (Scorer's contract), so draw j belongs to output token j.
            if (!st.draws) st.draws = std::make_unique<LlamaCppRng>((uint32_t)options.sampling.seed);
            chain->filter(logits, chain_ids, chain_x);
            st.rows.push_back(
                {claimed, token_metrics_inverse_cdf(logits, claimed, chain_ids, chain_x, st.draws->next())});
            return;
        }
        if (!greedy && !st.noise) st.noise = noise_stream_make(options.noise, options.sampling.seed, n_vocab);
        if (st.noise) st.noise->seek((int64_t)ts.prompt_token_ids.size() - 1 + j);
        st.rows.push_back(
            {claimed, token_metrics_compute(logits, claimed, options.sampling, st.noise.get(), scratch)});
    };
    // Sequences finish in the order the scheduler completes them; results are written in input order so that
    // two runs with different batch settings give byte-identical files.
    std::map<size_t, std::vector<PendingRow>> finished;
    size_t next_flush = 0;
    auto on_done = [&](size_t seq) {
        auto it = active.find(seq);
        std::vector<PendingRow> rows;
        if (it != active.end()) {
            rows = std::move(it->second.rows);
            active.erase(it);
        }
        finished.emplace(seq, std::move(rows));
        for (auto f = finished.find(next_flush); f != finished.end(); f = finished.find(next_flush)) {
            for (size_t j = 0; j < f->second.size(); ++j) {
                const PendingRow &r = f->second[j];
                acc.add(r.m);
                if (writer) writer->write(next_flush, (int32_t)j, r.token, r.m);
            }
            acc.end_sequence();
            if (writer) writer->end_sequence();
            if (sink) {
                std::vector<TokenMetrics> ms;
                for (const PendingRow &r : f->second) ms.push_back(r.m);
                sink(next_flush, ms);
            }
            finished.erase(f);
            ++next_flush;
        }
        ++done;
        if (progress) progress(done, seqs.size());
    };

    VerifyResult result;
    result.stats = scorer.score(seqs, on_row, on_done, options.hidden);
    result.summary = acc.finish();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

}  // namespace difr
