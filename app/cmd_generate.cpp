// difr generate: the local provider. Seeded generation whose noise a verifier can replay.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app.h"
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
    add_proof_options(*cmd, o->proofs);
    cmd->add_option("--fingerprints-out", o->proofs_out,
                    "where --fingerprint/--toploc proofs go (default: OUT.fingerprints.jsonl)");
    cmd->callback([o] {
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
        ProgressBar bar("generate", prompts.size());
        size_t done = 0;
        GenerateStats stats;
        // Finished sequences go to OUT.partial.jsonl as they complete, so an interrupted run loses nothing;
        // the file is removed once OUT is written.
        const std::string partial_path = o->out + ".partial.jsonl";
        std::ofstream partial(partial_path, std::ios::trunc);
        if (!partial) throw InputError("cannot create '" + partial_path + "'");
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<TokenSequence> seqs =
            generate(*model, o->engine.settings, prompts, g, &stats, [&](size_t i, const TokenSequence &s) {
                partial << nlohmann::json{{"index", i},
                                          {"prompt_token_ids", s.prompt_token_ids},
                                          {"output_token_ids", s.output_token_ids}}
                               .dump()
                        << "\n"
                        << std::flush;
                if (prover) proof_writer->write(i, prover->finish(i));
                bar.update(++done);
            });
        bar.finish();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        std::vector<std::string> texts;
        for (const auto &s : seqs) texts.push_back(model->detokenize(s.output_token_ids));
        const std::string prov = provenance_json(*model, o->engine.settings, o->sampling);
        const SequenceFormat fmt = o->format == "vllm" ? SequenceFormat::vllm : SequenceFormat::token_difr;
        sequences_write(o->out, seqs, fmt, prov, texts);
        nlohmann::ordered_json meta = nlohmann::ordered_json::parse(prov);
        meta["max_tokens"] = o->max_tokens;
        meta["system_prompt"] = o->system;
        meta["n_sequences"] = seqs.size();
        meta["prompt_tokens"] = stats.prompt_tokens;
        meta["generated_tokens"] = stats.generated_tokens;
        meta["seconds"] = secs;
        if (prover) meta["fingerprints"] = proofs_path;
        file_write_atomic(o->out + ".meta.json", meta.dump(2) + "\n");
        partial.close();
        std::filesystem::remove(partial_path);

        if (seqs.size() == 1) std::printf("%s\n", texts[0].c_str());
        std::printf("generated %zu sequences, %lld tokens in %.1f s (%.1f tok/s) -> %s\n", seqs.size(),
                    (long long)stats.generated_tokens, secs, stats.generated_tokens / std::max(secs, 1e-9),
                    o->out.c_str());
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
