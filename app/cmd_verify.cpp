// difr verify: re-score claimed tokens with a reference (the local engine, or a remote prompt-logprob
// endpoint) and report Token-DiFR metrics.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "app.h"
#include "difr/checkpoint.h"
#include "difr/error.h"
#include "difr/identify.h"
#include "difr/reference.h"
#include "difr/results.h"
#include "difr/row_scorer.h"
#include "difr/verify.h"

namespace difr::app {

void register_verify(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        SamplingOptions sampling;
        std::string input, out, reference = "local";
        RemoteReferenceOptions remote;
        int32_t concurrency = 8;
        double fail_below = -1.0;
        HttpOptions http;
        std::string fingerprints;
        ToplocThresholds toploc;
        double fingerprint_max_l2 = -1.0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand("verify", "verify token sequences against a reference model");
    add_engine_options(*cmd, o->engine);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("-i,--input", o->input, "sequences: token-difr list or vLLM-style samples")->required();
    cmd->add_option("-o,--out", o->out, "output directory for tokens.jsonl and summary.json")->required();
    cmd->add_option("--fail-below", o->fail_below,
                    "exit with status 1 if the exact-match rate is below this");
    cmd->add_option("--reference", o->reference,
                    "local (the engine), or a remote prompt-logprob reference: fireworks=URL (echo + "
                    "top_logprobs) or vllm=URL (prompt_logprobs); with a remote one -m is loaded for its "
                    "vocabulary only")
        ->capture_default_str();
    add_remote_reference_options(
        *cmd, o->remote, "model name at the remote reference (default: the GGUF file name without .gguf)");
    cmd->add_option("--concurrency", o->concurrency, "requests in flight to a remote reference")
        ->capture_default_str();
    add_http_options(*cmd, o->http);
    cmd->add_option(
        "--fingerprints", o->fingerprints,
        "a fingerprints file from difr generate --fingerprint/--toploc: checks the proofs against "
        "the reference's own hidden states (OUT/fingerprints.jsonl, OUT/toploc.jsonl)");
    cmd->add_option("--fingerprint-max-l2", o->fingerprint_max_l2,
                    "exit with status 1 if any token's fingerprint distance exceeds this");
    cmd->add_option("--toploc-max-exp-mismatches", o->toploc.max_exp_mismatches,
                    "TOPLOC: a chunk fails above this many exponent mismatches")
        ->capture_default_str();
    cmd->add_option("--toploc-max-mant-err-mean", o->toploc.max_mant_err_mean,
                    "TOPLOC: a chunk fails above this mean mantissa error")
        ->capture_default_str();
    cmd->add_option("--toploc-max-mant-err-median", o->toploc.max_mant_err_median,
                    "TOPLOC: a chunk fails above this median mantissa error")
        ->capture_default_str();
    cmd->callback([o] {
        const SequenceFile file = sequences_read(o->input);
        const std::string model_path = model_resolve(o->engine.model);
        const std::string reference_model =
            o->remote.model.empty() ? std::filesystem::path(model_path).stem().string() : o->remote.model;
        const ReferenceSpec ref =
            reference_spec_parse(o->reference, reference_model, o->remote.key_env, o->remote.topk);
        const bool remote = ref.kind == ReferenceSpec::Kind::remote;
        if (o->concurrency < 1)
            throw InputError("--concurrency must be at least 1 (got " + std::to_string(o->concurrency) + ")");
        sampling_validate(o->sampling.params);  // the settings are checked before the inputs
        std::optional<ActivationProofsFile> claimed;
        if (!o->fingerprints.empty()) {
            if (remote)
                throw InputError(
                    "--fingerprints needs the local engine: a remote reference returns no hidden "
                    "states");
            claimed = activation_proofs_read(o->fingerprints);
        }
        auto model = Model::load(model_path, o->engine.settings, /*vocab_only=*/remote);
        // The profile's own rules (min_p only under llama.cpp) are checked before the inputs too.
        if (!o->sampling.noise_auto()) RowScorer(o->sampling.params, o->sampling.profile(), model->n_vocab());
        for (size_t i = 0; i < file.sequences.size(); ++i)  // every input error before any work
            sequence_check(
                file.sequences[i], i, model->n_vocab(),
                remote ? std::numeric_limits<int32_t>::max()
                       : (o->engine.settings.n_ctx > 0 ? o->engine.settings.n_ctx : model->n_ctx_train()));
        nlohmann::ordered_json prov =
            nlohmann::ordered_json::parse(provenance_json(*model, o->engine.settings, o->sampling));
        std::unique_ptr<ActivationChecker> checker;
        if (claimed) {
            std::vector<int64_t> lengths;
            for (const TokenSequence &s : file.sequences)
                lengths.push_back((int64_t)s.output_token_ids.size());
            checker = std::make_unique<ActivationChecker>(*claimed, lengths, model->n_embd(), o->toploc);
        }
        VerifyOptions v;
        v.sampling = o->sampling.params;
        if (o->sampling.noise_auto()) {
            if (remote)
                throw InputError(
                    "--noise auto scores with the local engine; with a remote reference run difr "
                    "audit --noise auto, or name the profile");
            v.identify.assign(std::begin(kNoiseProfiles), std::end(kNoiseProfiles));
        } else {
            v.noise = o->sampling.profile();
        }

        // OUT/tokens.jsonl holds whole sequences in input order as they finish; with verify-run.json naming
        // this run, a run killed at any point and started again keeps them and verifies only the rest
        // (difr/checkpoint.h). The summary is computed over all of them, in input order, as if uninterrupted.
        nlohmann::ordered_json ids = nlohmann::ordered_json::array();
        for (const TokenSequence &sq : file.sequences)
            ids.push_back({sq.prompt_token_ids, sq.output_token_ids});
        const nlohmann::ordered_json identity = {
            {"sequences_sha256", text_sha256(ids.dump())},
            {"reference", nlohmann::ordered_json::parse(ref.to_json())},
            {"model_sha256", prov["model_sha256"]},
            {"engine", remote ? nlohmann::ordered_json() : prov["engine"]},
            {"sampling", prov["sampling"]},
            {"noise", prov["noise"]}};
        VerifyCheckpointState kept = verify_checkpoint_open(o->out, identity.dump(), file.sequences);
        if ((!v.identify.empty() || checker) && kept.sequences_done > 0) {
            // --noise auto writes its rows once every sequence is scored (the profile is chosen over all of
            // them): a killed run left none, and a finished one is verified again, whole. --fingerprints
            // checks every sequence's hidden states, which the kept rows do not hold: verified again too.
            std::filesystem::resize_file(o->out + "/tokens.jsonl", 0);
            kept = {};
        }
        const size_t k = kept.sequences_done;
        if (k > 0)
            std::fprintf(stderr, "difr: resuming: %zu of %zu sequences kept from %s/tokens.jsonl\n", k,
                         file.sequences.size(), o->out.c_str());
        const std::span<const TokenSequence> rest = std::span<const TokenSequence>(file.sequences).subspan(k);
        TokenMetricsWriter writer(o->out + "/tokens.jsonl", /*append=*/true, k);
        SummaryAccumulator acc;
        for (const auto &ms : kept.metrics) {
            for (const TokenMetrics &m : ms) acc.add(m);
            acc.end_sequence();
        }
        auto sink = [&](size_t, std::span<const TokenMetrics> ms) {
            for (const TokenMetrics &m : ms) acc.add(m);
            acc.end_sequence();
        };

        if (checker)
            v.hidden = [&](size_t seq, int32_t j, std::span<const float> h) { checker->add(k + seq, j, h); };
        ProgressBar bar("verify", file.sequences.size());
        auto progress = [&](size_t done, size_t) { bar.update(k + done); };
        VerifyResult r;
        if (remote) {
            RemoteVerifyOptions rv;
            rv.verify = v;
            rv.concurrency = o->concurrency;
            rv.http = o->http;
            size_t written = k;
            try {
                r = verify_sequences_remote(ref, model->n_vocab(), rest, rv, &writer, progress,
                                            [&](size_t i, std::span<const TokenMetrics> ms) {
                                                sink(i, ms);
                                                ++written;
                                            });
            } catch (const RemoteError &e) {
                bar.finish();
                throw RemoteError(std::string(e.what()) + "\n" + o->out + "/tokens.jsonl keeps the " +
                                  std::to_string(written) + " of " + std::to_string(file.sequences.size()) +
                                  " sequences verified before the failure; run the same command again to "
                                  "verify the rest");
            }
        } else {
            r = verify_sequences(*model, o->engine.settings, rest, v, &writer, progress, sink);
        }
        bar.finish();
        r.summary = acc.finish();

        prov["input"] = o->input;
        prov["reference"] = nlohmann::ordered_json::parse(ref.to_json());
        if (remote) {
            prov["engine"] = nullptr;  // the model file gave only its vocabulary; the reference scored
            prov["concurrency"] = o->concurrency;
        }
        if (r.identification) {
            prov["noise_identified"] = std::string(noise_profile_name(r.noise));
            prov["noise_covers"] = std::string(noise_profile_covers(r.noise));
            prov["noise_identification"] =
                nlohmann::ordered_json::parse(identification_to_json(*r.identification));
        }
        prov["tokens_evaluated"] = r.stats.tokens_evaluated;
        prov["decode_calls"] = r.stats.decode_calls;
        prov["seconds"] = r.seconds;
        prov["resumed_sequences"] = k;  // kept from an interrupted run; the counts above are this run's work
        FingerprintStats fstats;
        ToplocStats tstats;
        if (checker) {
            activation_checks_write(*checker, o->out + "/fingerprints.jsonl", o->out + "/toploc.jsonl");
            prov["fingerprints_file"] = o->fingerprints;
            if (claimed->spec.fingerprint) {
                fstats = checker->fingerprint_stats();
                prov["fingerprints"] = nlohmann::ordered_json::parse(fingerprint_stats_json(fstats));
            }
            if (claimed->spec.toploc) {
                tstats = checker->toploc_stats();
                prov["toploc"] = nlohmann::ordered_json::parse(toploc_stats_json(tstats, o->toploc));
            }
        }
        file_write_atomic(o->out + "/summary.json", summary_to_json(r.summary, prov.dump()));

        if (r.summary.skipped_sequences > 0)
            std::fprintf(stderr, "difr: skipped %lld sequences with empty outputs\n",
                         (long long)r.summary.skipped_sequences);
        if (remote) std::printf("reference: %s\n", ref.describe(*model).c_str());
        if (r.identification) std::printf("%s\n", identification_line(*r.identification).c_str());
        std::printf("%s\n", summary_audit_line(r.summary).c_str());
        std::printf(
            "  avg_prob %.4f  avg_margin %.4f (%.2f%% infinite)  avg_logit_rank %.3f  %.0f tok/s -> %s\n",
            r.summary.avg_prob, r.summary.avg_margin, 100.0 * r.summary.infinite_margin_rate,
            r.summary.avg_logit_rank, r.stats.tokens_evaluated / std::max(r.seconds, 1e-9), o->out.c_str());
        bool proofs_fail = false;
        if (claimed && claimed->spec.fingerprint) {
            const FingerprintSpec &f = *claimed->spec.fingerprint;
            std::printf(
                "fingerprints (k=%d, %s): %lld tokens, L2 mean %.4g median %.4g p99 %.4g max %.4g, "
                "%.2f%% identical -> %s/fingerprints.jsonl\n",
                f.k, fingerprint_basis_name(f.basis).c_str(), (long long)fstats.tokens, fstats.mean,
                fstats.median, fstats.p99, fstats.max, 100.0 * fstats.zero_rate, o->out.c_str());
            if (o->fingerprint_max_l2 >= 0 && fstats.max > o->fingerprint_max_l2) {
                std::fprintf(stderr, "difr: fingerprint distance %.4g exceeds %.4g\n", fstats.max,
                             o->fingerprint_max_l2);
                proofs_fail = true;
            }
        }
        if (claimed && claimed->spec.toploc) {
            std::printf(
                "TOPLOC (top-%d, %d tokens per proof): %lld of %lld chunks pass, max exp mismatches "
                "%d, max mant err mean %.3g, median %.3g -> %s/toploc.jsonl\n",
                claimed->spec.toploc->topk, claimed->spec.toploc->decode_batching_size,
                (long long)tstats.passed, (long long)tstats.chunks, tstats.max_exp_mismatches,
                tstats.max_mant_err_mean, tstats.max_mant_err_median, o->out.c_str());
            if (tstats.passed < tstats.chunks) {
                std::fprintf(stderr, "difr: %lld TOPLOC chunks fail the thresholds\n",
                             (long long)(tstats.chunks - tstats.passed));
                proofs_fail = true;
            }
        }
        if (proofs_fail) std::exit(1);
        if (o->fail_below >= 0 && r.summary.exact_match_rate < o->fail_below) {
            std::fprintf(stderr, "difr: exact-match rate %.4f is below %.4f\n", r.summary.exact_match_rate,
                         o->fail_below);
            std::exit(1);
        }
    });
}

}  // namespace difr::app
