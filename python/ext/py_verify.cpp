#include "py_verify.h"

#include <filesystem>

#include "difr/error.h"
#include "difr/identify.h"

#include <nanobind/stl/string.h>

namespace difr::py {

void VerifyRun::add(std::span<const TokenMetrics> ms) {
    for (const TokenMetrics &m : ms) {
        exact_match.push_back(m.exact_match);
        predicted.push_back(m.predicted);
        prob.push_back(m.prob);
        margin.push_back(m.margin);
        logit_rank.push_back(m.logit_rank);
        gumbel_rank.push_back(m.gumbel_rank);
        logprob.push_back(m.logprob);
    }
    offsets.push_back((int64_t)prob.size());
}

nb::dict verify_run_to_python(VerifyRun &&run) {
    nb::dict d;
    d["exact_match"] = numpy_bools(std::move(run.exact_match));
    d["predicted"] = numpy_from(std::move(run.predicted));
    d["prob"] = numpy_from(std::move(run.prob));
    d["margin"] = numpy_from(std::move(run.margin));
    d["logit_rank"] = numpy_from(std::move(run.logit_rank));
    d["gumbel_rank"] = numpy_from(std::move(run.gumbel_rank));
    d["logprob"] = numpy_from(std::move(run.logprob));
    d["offsets"] = numpy_from(std::move(run.offsets));
    const MetricsSummary &s = run.result.summary;
    nb::dict summary;
    summary["total_tokens"] = s.total_tokens;
    summary["n_sequences"] = s.n_sequences;
    summary["skipped_sequences"] = s.skipped_sequences;
    summary["exact_match_rate"] = s.exact_match_rate;
    summary["avg_prob"] = s.avg_prob;
    summary["avg_margin"] = s.avg_margin;
    summary["infinite_margin_rate"] = s.infinite_margin_rate;
    summary["avg_logit_rank"] = s.avg_logit_rank;
    summary["avg_gumbel_rank"] = s.avg_gumbel_rank;
    summary["avg_logprob"] = s.avg_logprob;
    d["summary"] = summary;
    d["tokens_evaluated"] = run.result.stats.tokens_evaluated;
    d["decode_calls"] = run.result.stats.decode_calls;
    d["seconds"] = run.result.seconds;
    d["noise"] = std::string(noise_profile_name(run.result.noise));
    d["identification"] = run.result.identification
                              ? json_to_python(identification_to_json(*run.result.identification))
                              : nb::none();
    return d;
}

std::unique_ptr<TokenMetricsWriter> metrics_writer_open(const std::string &out_dir) {
    if (out_dir.empty()) return nullptr;
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw InputError("cannot create output directory '" + out_dir + "': " + ec.message());
    return std::make_unique<TokenMetricsWriter>(out_dir + "/tokens.jsonl");
}

}  // namespace difr::py
