// difr generate: the local provider. Seeded generation whose noise a verifier can replay.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/error.h"
#include "difr/generator.h"
#include "difr/results.h"
#include "difr/verify.h"

namespace difr::app {

namespace {

using json = nlohmann::json;

std::vector<ChatMessage> messages_from_json(const json &v, const std::string &where) {
    const json *list = &v;
    if (v.is_object()) {
        if (v.contains("prompt") && v["prompt"].is_string())
            return {{"user", v["prompt"].get<std::string>()}};
        if (v.contains("messages"))
            list = &v["messages"];
        else if (v.contains("conversation"))
            list = &v["conversation"];
        else
            throw InputError(where +
                             ": expected {\"messages\": [...]}, {\"prompt\": \"...\"} or a message list");
    }
    if (!list->is_array() || list->empty())
        throw InputError(where + ": the conversation must be a non-empty list");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < list->size(); ++i) {
        const json &m = (*list)[i];
        if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
            !m["content"].is_string())
            throw InputError(where + ", message " + std::to_string(i) +
                             ": needs string fields role and content");
        out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    return out;
}

}  // namespace

std::vector<std::vector<ChatMessage>> conversations_read(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw InputError("cannot read prompts file '" + path + "'");
    std::vector<std::vector<ChatMessage>> out;
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ":" + std::to_string(n);
        json v;
        try {
            v = json::parse(line);
        } catch (const json::parse_error &e) {
            throw InputError(where + ": malformed JSON at column " + std::to_string(e.byte) + ": " +
                             e.what());
        }
        out.push_back(messages_from_json(v, where));
    }
    if (out.empty()) throw InputError("prompts file '" + path + "' holds no conversation");
    return out;
}

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
        file_write_atomic(o->out + ".meta.json", meta.dump(2) + "\n");
        partial.close();
        std::filesystem::remove(partial_path);

        if (seqs.size() == 1) std::printf("%s\n", texts[0].c_str());
        std::printf("generated %zu sequences, %lld tokens in %.1f s (%.1f tok/s) -> %s\n", seqs.size(),
                    (long long)stats.generated_tokens, secs, stats.generated_tokens / std::max(secs, 1e-9),
                    o->out.c_str());
    });
}

}  // namespace difr::app
