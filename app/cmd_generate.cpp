// difr generate: the local provider. Seeded generation whose noise a verifier can replay.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/artifact_prover.h"
#include "difr/checkpoint.h"
#include "difr/error.h"
#include "difr/generator.h"
#include "difr/prompts.h"
#include "difr/results.h"
#include "difr/verify.h"

namespace difr::app {

void register_generate(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        SamplingOptions sampling;
        std::string prompt, system, prompts_file, out, format = "token-difr";
        int32_t max_tokens = 128;
        std::string artifact, seed_proof = "none";
        int32_t top_logprobs = 5;
        ProofOptions proofs;
        std::string proofs_out;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd =
        app.add_subcommand("generate", "generate from a local GGUF model with seeded, replayable sampling");
    add_engine_options(*cmd, o->engine);
    add_sampling_options(*cmd, o->sampling);
    auto *p1 = cmd->add_option("-p,--prompt", o->prompt, "a single user message");
    auto *p2 = cmd->add_option("--prompts", o->prompts_file, "JSONL file, one conversation per line");
    p1->excludes(p2);
    cmd->add_option("--system", o->system, "system prompt prepended to every conversation");
    cmd->add_option("-n,--max-tokens", o->max_tokens, "tokens to generate per prompt")->capture_default_str();
    cmd->add_option("-o,--out", o->out, "output file (sequences); settings go to OUT.meta.json")->required();
    cmd->add_option("--format", o->format, "token-difr or vllm")
        ->check(CLI::IsMember({"token-difr", "vllm"}))
        ->capture_default_str();
    cmd->add_option("--artifact", o->artifact,
                    "also write an inference artifact (chosen token and top-k logprobs per position, "
                    "docs/artifacts.md) to this file");
    cmd->add_option("--top-logprobs", o->top_logprobs, "k of the artifact's top-k per position")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option(
           "--seed-proof", o->seed_proof,
           "none (the noise profile's draw), uniform (index uniform over the top-k, the seed document) "
           "or weighted (gonka PR #1448's deterministic-sampling draw); needs --artifact")
        ->check(CLI::IsMember({"none", "uniform", "weighted"}))
        ->capture_default_str();
    add_proof_options(*cmd, o->proofs);
    cmd->add_option("--fingerprints-out", o->proofs_out,
                    "where --fingerprint/--toploc proofs go (default: OUT.fingerprints.jsonl)");
    cmd->callback([o] {
        if (o->seed_proof != "none" && o->artifact.empty())
            throw CLI::RequiredError("--artifact (for --seed-proof)");
        if (!o->artifact.empty() && !o->proofs.spec().empty())
            throw CLI::ValidationError(
                "--artifact",
                "cannot be combined with --fingerprint or --toploc in one run: generate the "
                "artifact and the activation proofs separately");
        if (o->prompt.empty() && o->prompts_file.empty()) throw CLI::RequiredError("--prompt or --prompts");
        std::vector<std::vector<ChatMessage>> convs;
        if (!o->prompt.empty())
            convs.push_back({{"user", o->prompt}});
        else
            convs = conversations_read(o->prompts_file);
        if (!o->system.empty())
            for (auto &c : convs) c.insert(c.begin(), ChatMessage{"system", o->system});

        auto model = Model::load(model_resolve(o->engine.model), o->engine.settings);
        std::vector<std::vector<int32_t>> prompts;
        for (const auto &c : convs) prompts.push_back(model->chat_tokenize(c));

        if (!o->artifact.empty()) {
            ProverOptions po;
            po.sampling.temperature = o->sampling.params.temperature;
            po.sampling.top_k = o->sampling.params.top_k;
            po.sampling.top_p = o->sampling.params.top_p;
            po.sampling.min_p = o->sampling.params.min_p;
            po.sampling.seed = (int64_t)o->sampling.params.seed;
            po.noise = o->sampling.noise;
            po.max_tokens = o->max_tokens;
            po.k = o->top_logprobs;
            po.proof = o->seed_proof == "uniform"    ? SeedProofKind::uniform
                       : o->seed_proof == "weighted" ? SeedProofKind::weighted
                                                     : SeedProofKind::none;
            GenerateStats stats;
            const auto t0 = std::chrono::steady_clock::now();
            const Artifact a = artifact_generate(*model, o->engine.settings, prompts, po, &stats);
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            artifact_write(o->artifact, a);
            std::vector<TokenSequence> seqs;
            std::vector<std::string> texts;
            for (const ArtifactSequence &s : a.sequences) {
                TokenSequence t{s.prompt_token_ids, {}};
                for (const ArtifactPosition &p : s.positions) t.output_token_ids.push_back(p.id);
                texts.push_back(model->detokenize(t.output_token_ids));
                seqs.push_back(std::move(t));
            }
            nlohmann::ordered_json prov =
                nlohmann::ordered_json::parse(provenance_json(*model, o->engine.settings, o->sampling));
            prov["seed_proof"] = o->seed_proof;
            prov["artifact"] = o->artifact;
            const SequenceFormat fmt =
                o->format == "vllm" ? SequenceFormat::vllm : SequenceFormat::token_difr;
            sequences_write(o->out, seqs, fmt, prov.dump(), texts);
            prov["max_tokens"] = o->max_tokens;
            prov["n_sequences"] = seqs.size();
            prov["generated_tokens"] = stats.generated_tokens;
            prov["seconds"] = secs;
            file_write_atomic(o->out + ".meta.json", prov.dump(2) + "\n");
            if (seqs.size() == 1) std::printf("%s\n", texts[0].c_str());
            std::printf(
                "generated %zu sequences, %lld tokens in %.1f s -> %s, artifact (k %d, seed proof %s) -> "
                "%s\n",
                seqs.size(), (long long)stats.generated_tokens, secs, o->out.c_str(), a.k,
                o->seed_proof.c_str(), o->artifact.c_str());
            return;
        }
        GenerateOptions g;
        g.sampling = o->sampling.params;
        g.noise = o->sampling.profile();
        g.max_tokens = o->max_tokens;
        // Activation proofs: each sampled row's hidden state goes to the prover, each finished sequence's
        // proofs to the fingerprints file (in sequence order).
        const ActivationProofSpec proof_spec = o->proofs.spec();
        std::unique_ptr<ActivationProver> prover;
        std::unique_ptr<ActivationProofsWriter> proof_writer;
        const std::string proofs_path =
            o->proofs_out.empty() ? o->out + ".fingerprints.jsonl" : o->proofs_out;
        if (!proof_spec.empty()) {
            prover = std::make_unique<ActivationProver>(proof_spec, model->n_embd());
            proof_writer = std::make_unique<ActivationProofsWriter>(proofs_path, model->description(),
                                                                    model->n_embd(), proof_spec);
            g.on_hidden = [&](size_t seq, int32_t j, std::span<const float> h) { prover->add(seq, j, h); };
        }
        const std::string prov = provenance_json(*model, o->engine.settings, o->sampling);

        // Finished sequences go to OUT.partial.jsonl as they complete, so an interrupted run (Ctrl-C, kill
        // -9) loses nothing: run again with the same settings, it keeps them and generates only the rest. The
        // file is removed once OUT is written.
        const nlohmann::ordered_json p = nlohmann::ordered_json::parse(prov);
        const nlohmann::ordered_json identity = {
            {"model_sha256", p["model_sha256"]},
            {"engine", p["engine"]},
            {"sampling", p["sampling"]},
            {"noise", p["noise"]},
            {"max_tokens", o->max_tokens},
            {"prompts_sha256", text_sha256(nlohmann::json(prompts).dump())}};
        GenerateCheckpoint checkpoint(o->out + ".partial.jsonl", identity.dump(), prompts);
        // Activation proofs need every sequence's hidden states, which a checkpoint does not hold: a run with
        // proofs generates every sequence again and adds to the checkpoint only those it lacks.
        std::vector<size_t> todo;
        std::vector<std::vector<int32_t>> todo_prompts;
        for (size_t i = 0; i < prompts.size(); ++i)
            if (prover || !checkpoint.finished().count(i)) {
                todo.push_back(i);
                todo_prompts.push_back(prompts[i]);
            }
        const size_t kept = prompts.size() - todo.size();
        if (prover && !checkpoint.finished().empty())
            std::fprintf(
                stderr,
                "difr: %zu sequences in %s.partial.jsonl are generated again: activation proofs need "
                "their hidden states\n",
                checkpoint.finished().size(), o->out.c_str());
        if (kept > 0)
            std::fprintf(stderr, "difr: resuming: %zu of %zu sequences kept from %s.partial.jsonl\n", kept,
                         prompts.size(), o->out.c_str());

        ProgressBar bar("generate", prompts.size());
        size_t done = kept;
        GenerateStats stats;
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<TokenSequence> fresh = generate(
            *model, o->engine.settings, todo_prompts, g, &stats, [&](size_t k, const TokenSequence &s) {
                if (!checkpoint.finished().count(todo[k])) checkpoint.append(todo[k], s);
                if (prover) proof_writer->write(todo[k], prover->finish(k));
                bar.update(++done);
            });
        bar.finish();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::vector<TokenSequence> seqs(prompts.size());
        for (const auto &[i, s] : checkpoint.finished()) seqs[i] = s;
        for (size_t k = 0; k < todo.size(); ++k) seqs[todo[k]] = fresh[k];

        std::vector<std::string> texts;
        for (const auto &s : seqs) texts.push_back(model->detokenize(s.output_token_ids));
        const SequenceFormat fmt = o->format == "vllm" ? SequenceFormat::vllm : SequenceFormat::token_difr;
        sequences_write(o->out, seqs, fmt, prov, texts);
        int64_t prompt_tokens = 0, output_tokens = 0;
        for (const auto &s : seqs) {
            prompt_tokens += (int64_t)s.prompt_token_ids.size();
            output_tokens += (int64_t)s.output_token_ids.size();
        }
        nlohmann::ordered_json meta = p;
        meta["max_tokens"] = o->max_tokens;
        meta["system_prompt"] = o->system;
        meta["n_sequences"] = seqs.size();
        meta["prompt_tokens"] = prompt_tokens;
        meta["generated_tokens"] = output_tokens;
        meta["resumed_sequences"] = kept;  // kept from an interrupted run, not generated by this one
        meta["seconds"] = secs;
        if (prover) meta["fingerprints"] = proofs_path;
        file_write_atomic(o->out + ".meta.json", meta.dump(2) + "\n");
        checkpoint.remove();

        if (seqs.size() == 1) std::printf("%s\n", texts[0].c_str());
        std::printf("generated %zu sequences, %lld tokens in %.1f s (%.1f tok/s) -> %s\n", todo.size(),
                    (long long)stats.generated_tokens, secs, stats.generated_tokens / std::max(secs, 1e-9),
                    o->out.c_str());
        if (kept > 0) std::printf("kept %zu sequences from the interrupted run\n", kept);
        if (prover) {
            std::string what;
            if (proof_spec.fingerprint)
                what += "fingerprints k=" + std::to_string(proof_spec.fingerprint->k) + " (" +
                        std::to_string(proof_spec.fingerprint->bytes_per_token()) + " bytes/token)";
            if (proof_spec.toploc)
                what += std::string(what.empty() ? "" : ", ") + "TOPLOC top-" +
                        std::to_string(proof_spec.toploc->topk) + " per " +
                        std::to_string(proof_spec.toploc->decode_batching_size) + " tokens";
            std::printf("activation proofs: %s -> %s\n", what.c_str(), proofs_path.c_str());
        }
    });
}

}  // namespace difr::app
