// difr prompts: a prompt set from a conversation dataset (ShareGPT, LMSYS-Chat, WildChat), filtered like
// token-difr's construct_prompts and tokenised with the model's chat template (docs/prompts.md).
#include <cstdio>

#include "app.h"
#include "difr/prompt_set.h"

namespace difr::app {

void register_prompts(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        PromptSetOptions set;
        std::string input, out;
        uint64_t seed = 0;
        bool all_languages = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "prompts",
        "build a prompt set (JSONL of {\"messages\": [...]}) from ShareGPT/LMSYS/WildChat conversations");
    add_engine_options(*cmd, o->engine);
    cmd->add_option("-i,--input", o->input, "conversations: JSONL or a JSON array")->required();
    cmd->add_option("-o,--out", o->out, "output JSONL, one {\"messages\": [...]} per line")->required();
    cmd->add_option("-n,--limit", o->set.limit, "keep at most this many (0: all)")->capture_default_str();
    cmd->add_option("--max-tokens", o->set.max_tokens,
                    "longest chat-templated prompt in tokens, system prompt included (0: no limit)")
        ->capture_default_str();
    cmd->add_option("--system", o->set.system, "system prompt for conversations without one");
    auto *seed = cmd->add_option("--shuffle", o->seed, "shuffle the records with this seed before selecting");
    cmd->add_flag("--all-languages", o->all_languages, "keep records whose language field is not English");
    cmd->callback([o, seed] {
        const std::vector<PromptRecord> records = prompt_records_read(o->input);
        if (seed->count() > 0) o->set.shuffle_seed = o->seed;
        o->set.english_only = !o->all_languages;
        auto model = Model::load(model_resolve(o->engine.model), o->engine.settings);
        PromptSetStats stats;
        const auto convs = prompt_set_build(
            records, o->set, [&](const std::vector<ChatMessage> &m) { return model->chat_tokenize(m); },
            stats);
        prompt_set_write(o->out, convs);
        std::fprintf(stderr, "difr prompts: %s\n", stats.describe().c_str());
        std::printf("%zu prompts -> %s\n", convs.size(), o->out.c_str());
    });
}

}  // namespace difr::app
