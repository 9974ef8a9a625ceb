// difr generate: the local provider. Seeded generation whose noise a verifier can replay.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
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
        std::vector<size_t> todo;
        std::vector<std::vector<int32_t>> todo_prompts;
        for (size_t i = 0; i < prompts.size(); ++i)
            if (!checkpoint.finished().count(i)) {
                todo.push_back(i);
                todo_prompts.push_back(prompts[i]);
            }
        const size_t kept = prompts.size() - todo.size();
        if (kept > 0)
            std::fprintf(stderr, "difr: resuming: %zu of %zu sequences kept from %s.partial.jsonl\n", kept,
                         prompts.size(), o->out.c_str());

        ProgressBar bar("generate", prompts.size());
        size_t done = kept;
        GenerateStats stats;
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<TokenSequence> fresh = generate(*model, o->engine.settings, todo_prompts, g, &stats,
                                                          [&](size_t k, const TokenSequence &s) {
                                                              checkpoint.append(todo[k], s);
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
        file_write_atomic(o->out + ".meta.json", meta.dump(2) + "\n");
        checkpoint.remove();

        if (seqs.size() == 1) std::printf("%s\n", texts[0].c_str());
        std::printf("generated %zu sequences, %lld tokens in %.1f s (%.1f tok/s) -> %s\n", todo.size(),
                    (long long)stats.generated_tokens, secs, stats.generated_tokens / std::max(secs, 1e-9),
                    o->out.c_str());
        if (kept > 0) std::printf("kept %zu sequences from the interrupted run\n", kept);
    });
}

}  // namespace difr::app
