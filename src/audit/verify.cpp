#include "difr/verify.h"

#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <vector>

#include "difr/row_scorer.h"

namespace difr {

namespace {

struct PendingRow {
    int32_t token;
    TokenMetrics m;
};

// Per-sequence state while its rows stream in: its noise (or draws) and the rows kept until the sequence
// ends, so the JSONL holds whole sequences.
struct SeqState {
    RowScorer::Sequence scoring;
    std::vector<PendingRow> rows;
};

}  // namespace

VerifyResult verify_sequences(Model &model, const EngineSettings &settings,
                              std::span<const TokenSequence> seqs, const VerifyOptions &options,
                              TokenMetricsWriter *writer, const VerifyProgress &progress,
                              const VerifySink &sink) {
    RowScorer row_scorer(options.sampling, options.noise, model.n_vocab());
    const auto t0 = std::chrono::steady_clock::now();
    Scorer scorer(model, settings);
    SummaryAccumulator acc;
    std::map<size_t, SeqState> active;
    size_t done = 0;

    auto on_row = [&](size_t seq, int32_t j, std::span<const float> logits) {
        if (options.interrupt_check) options.interrupt_check();
        SeqState &st = active[seq];
        const TokenSequence &ts = seqs[seq];
        const int32_t claimed = ts.output_token_ids[j];
        const int64_t pos = (int64_t)ts.prompt_token_ids.size() - 1 + j;
        st.rows.push_back({claimed, row_scorer.score(st.scoring, logits, claimed, pos)});
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
    try {
        result.stats = scorer.score(seqs, on_row, on_done);
    } catch (...) {
        std::lock_guard<std::mutex> lock(interrupted_mu);
        if (interrupted) std::rethrow_exception(interrupted);
        throw;
    }
    result.summary = acc.finish();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

}  // namespace difr
