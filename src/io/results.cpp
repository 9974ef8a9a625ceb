#include "difr/results.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "difr/error.h"

namespace difr {

namespace {

// JSON has no infinity; token-difr's Python writes it as Infinity, which strict parsers reject. difr writes
// null for +inf, in per-token lines and summaries alike (the only non-finite value a metric can take).
nlohmann::ordered_json finite_or_null(double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

}  // namespace

TokenMetricsWriter::TokenMetricsWriter(const std::string &path, bool append, size_t seq_offset)
    : path_(path), out_(path, append ? std::ios::app : std::ios::trunc), seq_offset_(seq_offset) {
    if (!out_) throw InputError("cannot create '" + path + "'");
}

void TokenMetricsWriter::write(size_t seq, int32_t pos, int32_t token, const TokenMetrics &m) {
    // Hand-written for speed: this runs once per scored token.
    char buf[320];
    auto num = [](char *p, size_t n, float v) {
        if (std::isfinite(v))
            std::snprintf(p, n, "%.9g", v);
        else
            std::snprintf(p, n, "null");
    };
    char prob[32], margin[32], lr[32], gr[32], lp[32];
    num(prob, sizeof prob, m.prob);
    num(margin, sizeof margin, m.margin);
    num(lr, sizeof lr, m.logit_rank);
    num(gr, sizeof gr, m.gumbel_rank);
    num(lp, sizeof lp, m.logprob);
    const int n =
        std::snprintf(buf, sizeof buf,
                      "{\"seq\":%zu,\"pos\":%d,\"token\":%d,\"predicted\":%d,\"exact_match\":%s,"
                      "\"prob\":%s,\"margin\":%s,\"logit_rank\":%s,\"gumbel_rank\":%s,\"logprob\":%s}\n",
                      seq + seq_offset_, pos, token, m.predicted, m.exact_match ? "true" : "false", prob,
                      margin, lr, gr, lp);
    out_.write(buf, n);
}

void TokenMetricsWriter::end_sequence() {
    out_.flush();
    if (!out_) throw InputError("writing '" + path_ + "' failed (disk full?)");
}

std::string summary_to_json(const MetricsSummary &s, const std::string &provenance_json) {
    nlohmann::ordered_json j;
    j["total_tokens"] = s.total_tokens;
    j["n_sequences"] = s.n_sequences;
    j["skipped_sequences"] = s.skipped_sequences;
    j["exact_match_rate"] = s.exact_match_rate;
    j["avg_prob"] = s.avg_prob;
    j["avg_margin"] = finite_or_null(s.avg_margin);
    j["infinite_margin_rate"] = s.infinite_margin_rate;
    j["avg_logit_rank"] = s.avg_logit_rank;
    j["avg_gumbel_rank"] = finite_or_null(s.avg_gumbel_rank);
    j["avg_logprob"] = s.avg_logprob;
    j["provenance"] = nlohmann::ordered_json::parse(provenance_json);
    return j.dump(2) + "\n";
}

std::string file_read_text(const std::string &path, const std::string &what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot read " + (what.empty() ? "" : what + " ") + "'" + path + "'");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void file_write_atomic(const std::string &path, const std::string &text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) throw InputError("cannot create '" + tmp + "'");
        out << text;
        out.flush();
        if (!out) throw InputError("writing '" + tmp + "' failed (disk full?)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw InputError("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
}

}  // namespace difr
