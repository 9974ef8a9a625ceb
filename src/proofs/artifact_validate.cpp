// The artifact validator: the reference's rows for every position, then the checks over any prefix (the lab
// evaluates 10, 30, 100 and 300 positions of the same artifacts from one scoring pass).
#include "difr/artifact_validate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include <limits>
#include "difr/error.h"
#include "difr/gonka.h"
#include "difr/provenance.h"
#include "difr/remote.h"
#include "difr/scorer.h"
#include "difr/seed_proof.h"
#include "difr/verify.h"

namespace difr {

namespace {

using ojson = nlohmann::ordered_json;

ojson num(double x) {
    return std::isfinite(x) ? ojson(x) : ojson(nullptr);
}

// The row statistics of topk_logprobs_from_logits (float maximum, double sum of exponentials, float log), so
// the validator's logprobs are those `difr serve` returns.
struct RowLse {
    float max_l = -INFINITY;
    float log_sum = 0.0f;
    explicit RowLse(std::span<const float> l) {
        for (float x : l) max_l = std::max(max_l, x);
        double sum = 0.0;
        for (float x : l) sum += std::exp(x - max_l);
        log_sum = (float)std::log(sum);
    }
    double logprob(float x) const { return (double)((x - max_l) - log_sum); }
};

SamplingParams artifact_sampling(const Artifact &a) {
    SamplingParams p;
    p.temperature = (float)a.sampling.temperature;
    p.top_k = a.sampling.top_k;
    p.top_p = (float)a.sampling.top_p;
    p.min_p = (float)a.sampling.min_p;
    p.seed = a.sampling.seed ? (uint64_t)*a.sampling.seed : 0;
    return p;
}

}  // namespace

const char *seed_verdict_name(SeedVerdict v) {
    switch (v) {
        case SeedVerdict::honest:
            return "honest";
        case SeedVerdict::fraud:
            return "fraud";
        default:
            return "inconclusive";
    }
}

std::vector<ReferenceRows> artifact_reference_score(Model &model, const EngineSettings &settings,
                                                    const Artifact &a,
                                                    const std::vector<std::vector<int32_t>> &prompts,
                                                    const ValidateOptions &options) {
    std::vector<TokenSequence> seqs(a.sequences.size());
    std::vector<ReferenceRows> out(a.sequences.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
        seqs[i].prompt_token_ids = prompts[i];
        for (const ArtifactPosition &p : a.sequences[i].positions) seqs[i].output_token_ids.push_back(p.id);
        out[i].validator.resize(a.sequences[i].positions.size());
        out[i].chosen_logprob.resize(a.sequences[i].positions.size());
    }
    {
        Scorer scorer(model, settings);
        scorer.score(seqs, [&](size_t s, int32_t j, std::span<const float> l) {
            const RowLse lse(l);
            const ArtifactPosition &p = a.sequences[s].positions[(size_t)j];
            GonkaPosition &v = out[s].validator[(size_t)j];
            v.token = p.token;
            v.logprob = lse.logprob(l[(size_t)p.id]);
            v.top.clear();
            for (const ArtifactTop &t : p.top) v.top.push_back({t.token, lse.logprob(l[(size_t)t.id])});
            out[s].chosen_logprob[(size_t)j] = v.logprob;
        });
    }
    if (!options.token_difr) return out;
    const SamplingParams sp = artifact_sampling(a);
    std::string why;
    const auto profile = noise_profile_from_name(options.noise);
    if (!profile)
        why = "unknown noise profile '" + options.noise + "'";
    else if (!sampling_is_greedy(sp) && !a.sampling.seed)
        why = "the artifact claims sampling but no seed";
    if (why.empty()) {
        try {
            VerifyOptions vo;
            vo.sampling = sp;
            vo.noise = *profile;
            verify_sequences(
                model, settings, seqs, vo, nullptr, {},
                [&](size_t s, std::span<const TokenMetrics> m) { out[s].difr.assign(m.begin(), m.end()); });
        } catch (const std::invalid_argument &e) {
            why = e.what();
        }
    }
    for (ReferenceRows &r : out) r.difr_note = why;
    return out;
}

std::vector<ReferenceRows> artifact_reference_score_remote(const ReferenceSpec &ref, const Model &vocab,
                                                           const Artifact &a,
                                                           const std::vector<std::vector<int32_t>> &prompts,
                                                           const ValidateOptions &options,
                                                           const HttpOptions &http) {
    const std::string api_key =
        ref.endpoint.api_key_env.empty() ? "" : api_key_from_env(ref.endpoint.api_key_env);
    const SamplingParams sp = artifact_sampling(a);
    const auto profile = noise_profile_from_name(options.noise);
    std::vector<ReferenceRows> out(a.sequences.size());
    for (size_t i = 0; i < a.sequences.size(); ++i) {
        const ArtifactSequence &s = a.sequences[i];
        // Spell the reference's tokens as the artifact spells its own: ids in decimal, or text pieces.
        const bool ids = !s.positions.empty() && s.positions[0].token == std::to_string(s.positions[0].id);
        std::vector<int32_t> tokens = prompts[i], output;
        for (const ArtifactPosition &p : s.positions) output.push_back(p.id);
        tokens.insert(tokens.end(), output.begin(), output.end());
        HttpRequest req;
        req.url = ref.endpoint.base_url + "/completions";
        req.body = prompt_logprobs_request_json(ref.wire, ref.endpoint.model, tokens, ref.topk);
        req.api_key = api_key;
        const std::string where =
            "reference POST " + url_redact(req.url) + " (sequence " + std::to_string(i) + ")";
        const HttpResponse resp = http_send(req, http);
        const std::vector<TopkRow> rows = prompt_logprobs_parse(
            ref.wire, resp.body, tokens, prompts[i].size(), output.size(), ref.topk, where);
        ReferenceRows &r = out[i];
        r.at_prover_ids = false;
        for (size_t j = 0; j < rows.size(); ++j) {
            GonkaPosition v;
            v.token = s.positions[j].token;
            v.logprob = std::numeric_limits<double>::quiet_NaN();
            for (const TopkEntry &e : rows[j]) {
                v.top.push_back(
                    {ids ? std::to_string(e.token_id) : vocab.token_piece(e.token_id), (double)e.logprob});
                if (e.token_id == output[j]) v.logprob = e.logprob;
            }
            r.chosen_logprob.push_back(v.logprob);
            r.validator.push_back(std::move(v));
        }
        if (!options.token_difr) continue;
        if (!profile || (!sampling_is_greedy(sp) && !a.sampling.seed) || sp.min_p > 0) {
            r.difr_note = !profile       ? "unknown noise profile '" + options.noise + "'"
                          : sp.min_p > 0 ? "min_p needs the full row of logits"
                                         : "no seed";
            continue;
        }
        r.difr = topk_rows_metrics(rows, output, sp, *profile, (int64_t)prompts[i].size(), vocab.n_vocab());
    }
    return out;
}

SeedCheck seed_check(const Artifact &a, size_t seq, size_t n) {
    SeedCheck c;
    const ArtifactSequence &s = a.sequences[seq];
    n = std::min(n, s.positions.size());
    if (a.proof == SeedProofKind::none) {
        c.reason = "the artifact carries no seed proof";
        return c;
    }
    if (!a.sampling.seed) {
        c.reason = "no seed";
        return c;
    }
    if (a.proof == SeedProofKind::uniform) {
        Sha256CounterRng rng(seed_uniform_run_seed(*a.sampling.seed, s.id));
        for (size_t i = 0; i < n; ++i) {
            const ArtifactPosition &p = s.positions[i];
            const uint64_t j = rng.below(p.top.size());
            ++c.n_checked;
            if (p.top[j].token != p.token) {
                c.verdict = SeedVerdict::fraud;
                c.first_mismatch = (int64_t)i;
                c.reason = "position " + std::to_string(i) + ": the seed draws index " + std::to_string(j) +
                           " ('" + p.top[j].token + "'), the artifact chose '" + p.token + "'";
                return c;
            }
        }
        c.verdict = n > 0 ? SeedVerdict::honest : SeedVerdict::inconclusive;
        return c;
    }
    // Weighted (PR #1448): greedy and unbounded support are inconclusive before any replay.
    if (!(a.sampling.temperature > 0)) {
        c.reason = "greedy (temperature 0): sequence check not applicable";
        return c;
    }
    if (a.sampling.top_k <= 0 && !(a.sampling.min_p > 0)) {
        c.reason = "unbounded support (no top_k/min_p): deferred to the distance check";
        return c;
    }
    DetsampleParams dp;
    dp.temperature = python_float_repr(a.sampling.temperature);
    if (a.sampling.top_k > 0) dp.top_k = a.sampling.top_k;
    if (a.sampling.top_p < 1.0) dp.top_p = python_float_repr(a.sampling.top_p);
    if (a.sampling.min_p > 0) dp.min_p = python_float_repr(a.sampling.min_p);
    const std::string base = seed_chain_bound(*a.sampling.seed, s.id);
    for (size_t i = 0; i < n; ++i) {
        const ArtifactPosition &p = s.positions[i];
        std::map<std::string, std::string> lps;
        for (const ArtifactTop &t : p.top) {
            if (t.id < 0) {
                c.reason = "tokens are not ids (resolve them with the model's vocabulary)";
                return c;
            }
            lps[std::to_string(t.id)] = python_float_repr(t.logprob);
        }
        Sha256CounterRng rng(seed_position(base, i));
        const std::string drawn = detsample_sample(lps, dp, rng);
        ++c.n_checked;
        if (drawn != std::to_string(p.id)) {
            c.verdict = SeedVerdict::fraud;
            c.first_mismatch = (int64_t)i;
            c.reason = "position " + std::to_string(i) + ": replayed token " + drawn +
                       " but the artifact chose " + std::to_string(p.id);
            return c;
        }
    }
    c.verdict = n > 0 ? SeedVerdict::honest : SeedVerdict::inconclusive;
    return c;
}

SequenceChecks artifact_checks(const Artifact &a, size_t seq, const ReferenceRows *ref, size_t n) {
    SequenceChecks c;
    const ArtifactSequence &s = a.sequences[seq];
    c.n = n = std::min(n, s.positions.size());
    c.seed = seed_check(a, seq, n);
    if (!ref) return c;
    const std::vector<GonkaPosition> mine = artifact_gonka_positions(s);
    const std::span<const GonkaPosition> prover(mine.data(), n), validator(ref->validator.data(), n);
    c.gonka = gonka_compare(prover, validator);
    c.distance2 = gonka_distance2(prover, validator);
    double sum = 0.0, mae = 0.0;
    for (size_t i = 0; i < n; ++i) {
        sum += ref->chosen_logprob[i];
        if (!ref->at_prover_ids) continue;
        double d = 0.0;
        for (size_t r = 0; r < s.positions[i].top.size(); ++r)
            d += std::fabs(s.positions[i].top[r].logprob - ref->validator[i].top[r].logprob);
        mae += d / (double)s.positions[i].top.size();
    }
    if (!ref->at_prover_ids) mae = std::numeric_limits<double>::quiet_NaN();
    c.mean_logprob = n ? sum / (double)n : 0.0;
    c.perplexity = std::exp(-c.mean_logprob);
    c.mae = n ? mae / (double)n : 0.0;
    if (ref->difr.size() >= n && n > 0) {
        c.difr_run = true;
        double matches = 0, margin = 0;
        size_t finite = 0;
        for (size_t i = 0; i < n; ++i) {
            matches += ref->difr[i].exact_match;
            if (std::isfinite(ref->difr[i].margin)) {
                margin += ref->difr[i].margin;
                ++finite;
            }
        }
        c.exact_match_rate = matches / (double)n;
        c.avg_margin = finite ? margin / (double)finite : 0.0;
    }
    return c;
}

std::vector<GonkaComparison> artifact_compare(const Artifact &a, const Artifact &b) {
    if (a.sequences.size() != b.sequences.size())
        throw InputError(a.path + " holds " + std::to_string(a.sequences.size()) + " sequences, " + b.path +
                         " " + std::to_string(b.sequences.size()) +
                         ": compare artifacts of the same requests");
    std::vector<GonkaComparison> out;
    for (size_t i = 0; i < a.sequences.size(); ++i) {
        const auto pa = artifact_gonka_positions(a.sequences[i]),
                   pb = artifact_gonka_positions(b.sequences[i]);
        out.push_back(gonka_compare(pa, pb));
    }
    return out;
}

namespace {

const char *outcome_name(GonkaOutcome o) {
    switch (o) {
        case GonkaOutcome::different_length:
            return "different_length";
        case GonkaOutcome::different_tokens:
            return "different_tokens";
        default:
            return "similarity";
    }
}

ojson gonka_json(const GonkaComparison &g, const ValidateOptions &o) {
    ojson j;
    j["decision"] = gonka_passes(g.value, o.gonka_threshold) ? "pass" : "fail";
    j["statistic"] = "gonka_similarity";
    j["value"] = num(g.value);
    j["outcome"] = outcome_name(g.outcome);
    if (g.outcome == GonkaOutcome::different_tokens) j["first_different_position"] = g.first_diff;
    j["threshold"] = o.gonka_threshold;
    j["threshold_source"] = o.gonka_threshold_source;
    j["rule"] = "value > threshold (msg_server_validation.go)";
    ojson presets = ojson::object();
    for (const GonkaPreset &p : gonka_presets())
        presets[p.name] = {{"threshold", p.threshold},
                           {"decision", gonka_passes(g.value, p.threshold) ? "pass" : "fail"},
                           {"source", p.source}};
    j["presets"] = presets;
    return j;
}

ojson threshold_decision(double value, const std::optional<double> &threshold, const std::string &source,
                         bool higher_passes) {
    ojson j;
    if (!threshold) {
        j["decision"] = "no_threshold";
        j["threshold"] = nullptr;
        j["threshold_source"] =
            "none given; `difr lab --artifacts` calibrates one on honest runs to FPR <= 1%";
        return j;
    }
    const bool pass = higher_passes ? value >= *threshold : value <= *threshold;
    j["decision"] = pass ? "pass" : "fail";
    j["threshold"] = *threshold;
    j["threshold_source"] = source.empty() ? "given on the command line" : source;
    return j;
}

ojson checks_json(const Artifact &a, size_t i, const SequenceChecks &c, const ValidateOptions &o,
                  bool with_ref) {
    ojson j;
    j["index"] = i;
    j["id"] = a.sequences[i].id;
    j["positions"] = c.n;
    ojson checks;
    if (with_ref) {
        checks["gonka_similarity"] = gonka_json(c.gonka, o);
        checks["distance2"] = {{"decision", "report_only"},
                               {"value", num(c.distance2.distance)},
                               {"matches_ratio", num(c.distance2.matches_ratio)},
                               {"source", "mlnode benchmarks validation/utils.py distance2 (seed document)"}};
        ojson joint = threshold_decision(c.mean_logprob, o.joint_threshold, o.joint_threshold_source, true);
        if (std::isnan(c.mean_logprob)) {
            joint["decision"] = "not_run";
            joint["reason"] = "a token outside the remote reference's top-k has no logprob";
        }
        joint["statistic"] = "mean log P(t_i | prefix)";
        joint["value"] = num(c.mean_logprob);
        joint["perplexity"] = num(c.perplexity);
        checks["joint_probability"] = joint;
    }
    ojson seed;
    seed["kind"] = seed_proof_name(a.proof);
    seed["decision"] = c.seed.verdict == SeedVerdict::honest  ? "pass"
                       : c.seed.verdict == SeedVerdict::fraud ? "fail"
                                                              : "inconclusive";
    seed["verdict"] = seed_verdict_name(c.seed.verdict);
    seed["positions_checked"] = c.seed.n_checked;
    seed["first_mismatch"] = c.seed.first_mismatch >= 0 ? ojson(c.seed.first_mismatch) : ojson(nullptr);
    seed["reason"] = c.seed.reason;
    seed["threshold"] = "exact: any mismatch fails";
    if (with_ref && !std::isnan(c.mae))
        seed["distribution_check"] = {
            {"statistic", "MAE over the prover's top-k (PR #1448 MAEDistance)"},
            {"value", num(c.mae)},
            {"threshold", o.mae_threshold},
            {"threshold_source", "PR #1448 Stage2MAEFraudThreshold, a placeholder there"},
            {"decision", c.mae <= o.mae_threshold ? "pass" : "fail"}};
    checks["seed_proof"] = seed;
    if (with_ref) {
        ojson d;
        if (c.difr_run) {
            d = threshold_decision(c.exact_match_rate, o.difr_threshold, o.difr_threshold_source, true);
            d["statistic"] = "exact_match_rate";
            d["value"] = c.exact_match_rate;
            d["avg_margin"] = c.avg_margin;
            d["noise"] = o.noise;
        } else {
            d["decision"] = "not_run";
        }
        checks["token_difr"] = d;
    }
    j["checks"] = checks;
    return j;
}

}  // namespace

std::string artifact_report_json(const Artifact &a, std::span<const SequenceChecks> checks,
                                 const ValidateOptions &options, const std::string &reference_json,
                                 const Artifact *against) {
    ojson doc;
    doc["artifact"] = a.path;
    doc["source"] = a.source;
    doc["model"] = a.model;
    doc["k"] = a.k;
    doc["sampling"] = {{"temperature", a.sampling.temperature},
                       {"top_k", a.sampling.top_k},
                       {"top_p", a.sampling.top_p},
                       {"min_p", a.sampling.min_p},
                       {"seed", a.sampling.seed ? ojson(*a.sampling.seed) : ojson(nullptr)}};
    doc["proof"] = seed_proof_name(a.proof);
    ojson seqs = ojson::array();
    size_t n_tokens = 0, gonka_pass = 0, seed_pass = 0, seed_fail = 0;
    double sum_sim = 0, sum_lp = 0, matches = 0;
    size_t difr_tokens = 0;
    std::map<std::string, size_t> preset_pass;
    const bool with_ref = !reference_json.empty() || against;
    std::vector<GonkaComparison> offline;
    if (against) {
        doc["against"] = against->path;
        offline = artifact_compare(a, *against);
    }
    for (size_t i = 0; i < checks.size(); ++i) {
        const SequenceChecks &c = checks[i];
        ojson j = checks_json(a, i, c, options, with_ref && !against);
        const GonkaComparison &g = against ? offline[i] : c.gonka;
        if (against) j["checks"]["gonka_similarity"] = gonka_json(g, options);
        seqs.push_back(j);
        n_tokens += c.n;
        sum_sim += g.value;
        gonka_pass += gonka_passes(g.value, options.gonka_threshold);
        for (const GonkaPreset &p : gonka_presets())
            preset_pass[p.name] += gonka_passes(g.value, p.threshold);
        sum_lp += c.mean_logprob * (double)c.n;
        seed_pass += c.seed.verdict == SeedVerdict::honest;
        seed_fail += c.seed.verdict == SeedVerdict::fraud;
        if (c.difr_run) {
            matches += c.exact_match_rate * (double)c.n;
            difr_tokens += c.n;
        }
    }
    const double n_seq = (double)std::max<size_t>(1, checks.size());
    ojson pooled;
    pooled["sequences"] = checks.size();
    pooled["positions"] = n_tokens;
    if (with_ref) {
        pooled["gonka_similarity"] = {
            {"mean", sum_sim / n_seq}, {"passing", gonka_pass}, {"threshold", options.gonka_threshold}};
        // The first value of `gonka_similarity` at the top level: what a script reads (sequence 0's, the one
        // a single-response artifact has).
        doc["gonka_similarity"] = against ? num(offline[0].value) : num(checks[0].gonka.value);
        ojson presets = ojson::object();
        for (const GonkaPreset &p : gonka_presets())
            presets[p.name] = {{"threshold", p.threshold},
                               {"passing", preset_pass[p.name]},
                               {"decision", preset_pass[p.name] == checks.size() ? "pass" : "fail"}};
        doc["presets"] = presets;
    }
    if (with_ref && !against) {
        const double mean = n_tokens ? sum_lp / (double)n_tokens : 0.0;
        ojson joint = threshold_decision(mean, options.joint_threshold, options.joint_threshold_source, true);
        joint["mean_logprob"] = mean;
        joint["perplexity"] = std::exp(-mean);
        pooled["joint_probability"] = joint;
        if (difr_tokens) pooled["token_difr"] = {{"exact_match_rate", matches / (double)difr_tokens}};
    }
    pooled["seed_proof"] = {
        {"honest", seed_pass}, {"fraud", seed_fail}, {"inconclusive", checks.size() - seed_pass - seed_fail}};
    doc["pooled"] = pooled;
    if (!reference_json.empty()) doc["reference"] = ojson::parse(reference_json);
    doc["sequences"] = seqs;
    return doc.dump(2) + "\n";
}

void validate_options_preset(ValidateOptions &options, const std::string &preset) {
    for (const GonkaPreset &p : gonka_presets())
        if (preset == p.name) {
            options.gonka_threshold = p.threshold;
            options.gonka_threshold_source = std::string("preset ") + p.name + ": " + p.source;
            return;
        }
    std::string known;
    for (const GonkaPreset &p : gonka_presets()) known += std::string(known.empty() ? "" : ", ") + p.name;
    throw InputError("unknown Gonka preset '" + preset + "' (known: " + known + ")");
}

std::string artifact_validate(Artifact a, Model &model, const EngineSettings &settings,
                              const ReferenceSpec &ref, const ValidateOptions &options,
                              const HttpOptions &http) {
    const bool remote = ref.kind == ReferenceSpec::Kind::remote;
    const int32_t n_ctx = settings.n_ctx > 0 ? settings.n_ctx : model.n_ctx_train();
    std::vector<std::vector<int32_t>> prompts;
    for (size_t i = 0; i < a.sequences.size(); ++i) prompts.push_back(artifact_prompt_tokens(a, i, model));
    for (size_t i = 0; i < a.sequences.size(); ++i)
        if (a.sequences[i].prompt_token_ids.empty()) a.sequences[i].prompt_token_ids = prompts[i];
    artifact_resolve(a, model, n_ctx);
    const std::vector<ReferenceRows> rows =
        remote ? artifact_reference_score_remote(ref, model, a, prompts, options, http)
               : artifact_reference_score(model, settings, a, prompts, options);
    std::vector<SequenceChecks> checks;
    for (size_t i = 0; i < a.sequences.size(); ++i)
        checks.push_back(artifact_checks(a, i, &rows[i], a.sequences[i].positions.size()));
    ojson prov = remote ? ojson::parse(ref.to_json())
                        : ojson::parse(provenance_json(model, settings, SamplingParams{}, options.noise));
    if (!rows.empty() && !rows[0].difr_note.empty()) prov["token_difr_not_run"] = rows[0].difr_note;
    return artifact_report_json(a, checks, options, prov.dump());
}

std::string artifact_validate_against(const Artifact &a, const Artifact &b, const ValidateOptions &options) {
    std::vector<SequenceChecks> checks;
    for (size_t i = 0; i < a.sequences.size(); ++i)
        checks.push_back(artifact_checks(a, i, nullptr, a.sequences[i].positions.size()));
    return artifact_report_json(a, checks, options, "", &b);
}

}  // namespace difr
