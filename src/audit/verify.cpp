#include "difr/verify.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "difr/row_scorer.h"

namespace difr {

namespace {

struct PendingRow {
    int32_t token;
    TokenMetrics m;
};

// One profile's per-sequence state while its rows stream in: its noise or draws (RowScorer's) and the rows
// kept until the sequence ends, so the JSONL holds whole sequences.
struct ProfileState {
    RowScorer::Sequence scoring;
    std::vector<PendingRow> rows;
};

}  // namespace

VerifyResult verify_sequences(Model &model, const EngineSettings &settings,
                              std::span<const TokenSequence> seqs, const VerifyOptions &options,
                              TokenMetricsWriter *writer, const VerifyProgress &progress,
                              const VerifySink &sink) {
    sampling_validate(options.sampling);
    const std::vector<NoiseProfile> profiles =
        options.identify.empty() ? std::vector<NoiseProfile>{options.noise} : options.identify;
    const bool identifying = !options.identify.empty();
    const auto t0 = std::chrono::steady_clock::now();
    const int32_t n_vocab = model.n_vocab();
    const bool greedy = sampling_is_greedy(options.sampling);
    // The per-row rules are RowScorer's, one per profile. min_p exists only in llama.cpp's chain: naming
    // another profile with it is an error (RowScorer's), while under auto the other profiles are scored
    // without it.
    std::vector<std::unique_ptr<RowScorer>> row_scorers;
    for (NoiseProfile p : profiles) {
        SamplingParams params = options.sampling;
        if (identifying && p != NoiseProfile::llama_cpp) params.min_p = 0.0f;
        row_scorers.push_back(std::make_unique<RowScorer>(params, p, n_vocab));
    }
    Scorer scorer(model, settings);
    std::map<size_t, std::vector<ProfileState>> active;
    size_t done = 0;

    auto on_row = [&](size_t seq, int32_t j, std::span<const float> logits) {
        if (options.interrupt_check) options.interrupt_check();
        std::vector<ProfileState> &states = active[seq];
        if (states.empty()) states.resize(profiles.size());
        const TokenSequence &ts = seqs[seq];
        const int32_t claimed = ts.output_token_ids[j];
        const int64_t pos = (int64_t)ts.prompt_token_ids.size() - 1 + j;
        for (size_t k = 0; k < profiles.size(); ++k) {
            ProfileState &st = states[k];
            st.rows.push_back({claimed, row_scorers[k]->score(st.scoring, logits, claimed, pos)});
            if (greedy && identifying) {  // T = 0: no noise, every profile's row is the same
                for (size_t o = k + 1; o < profiles.size(); ++o) states[o].rows.push_back(st.rows.back());
                break;
            }
        }
    };

    // Writes one profile's rows of sequence `seq` (the next in input order) to the writer, sink and summary.
    SummaryAccumulator acc;
    auto emit = [&](size_t seq, const std::vector<PendingRow> &rows) {
        for (size_t j = 0; j < rows.size(); ++j) {
            acc.add(rows[j].m);
            if (writer) writer->write(seq, (int32_t)j, rows[j].token, rows[j].m);
        }
        acc.end_sequence();
        if (writer) writer->end_sequence();
        if (sink) {
            std::vector<TokenMetrics> ms;
            for (const PendingRow &r : rows) ms.push_back(r.m);
            sink(seq, ms);
        }
    };
    // Sequences finish in the order the scheduler completes them; results are written in input order so that
    // two runs with different batch settings give byte-identical files.
    std::map<size_t, std::vector<std::vector<PendingRow>>> finished;
    std::vector<std::vector<std::vector<PendingRow>>> held;  // identifying: every sequence, every profile
    ProfileIdentifier identifier(profiles, greedy);
    size_t next_flush = 0;
    auto on_done = [&](size_t seq) {
        auto it = active.find(seq);
        std::vector<std::vector<PendingRow>> rows(profiles.size());
        if (it != active.end()) {
            for (size_t k = 0; k < profiles.size(); ++k) rows[k] = std::move(it->second[k].rows);
            active.erase(it);
        }
        finished.emplace(seq, std::move(rows));
        for (auto f = finished.find(next_flush); f != finished.end(); f = finished.find(next_flush)) {
            if (identifying) {
                for (size_t k = 0; k < profiles.size(); ++k)
                    for (const PendingRow &r : f->second[k]) identifier.add(k, r.m);
                held.push_back(std::move(f->second));
            } else {
                emit(next_flush, f->second[0]);
            }
            finished.erase(f);
            ++next_flush;
        }
        ++done;
        if (progress) progress(done, seqs.size());
    };

    // The interrupt check also runs inside each decode, so a long decode stops within one of its steps; the
    // caller's own exception is what comes out.
    std::exception_ptr interrupted;
    std::mutex interrupted_mu;
    if (options.interrupt_check)
        scorer.set_abort([&] {
            try {
                options.interrupt_check();
                return false;
            } catch (...) {
                std::lock_guard<std::mutex> lock(interrupted_mu);
                if (!interrupted) interrupted = std::current_exception();
                return true;
            }
        });
    VerifyResult result;
    result.noise = options.noise;
    try {
        result.stats = scorer.score(seqs, on_row, on_done, options.hidden);
    } catch (...) {
        std::lock_guard<std::mutex> lock(interrupted_mu);
        if (interrupted) std::rethrow_exception(interrupted);
        throw;
    }
    if (identifying) {
        result.identification = identifier.finish();
        result.noise = result.identification->best();
        const size_t best =
            size_t(std::find(profiles.begin(), profiles.end(), result.noise) - profiles.begin());
        for (size_t i = 0; i < held.size(); ++i) emit(i, held[i][best]);
    }
    result.summary = acc.finish();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

}  // namespace difr
