// Conversation datasets (ShareGPT, LMSYS-Chat, WildChat; JSONL or a JSON array): `difr prompts -i`.
#include "difr/error.h"
#include "difr/prompt_set.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz-dataset.jsonl";
    std::vector<PromptRecord> records;
    if (!fuzz::fuzz_expect<InputError>(
            source, [&] { records = prompt_records_parse(fuzz::fuzz_text(data, size), source); }))
        return 0;
    // The filter runs on whatever was read; a tokenizer that counts bytes stands in for the chat template.
    PromptSetOptions options;
    options.max_tokens = 64;
    options.shuffle_seed = size;
    PromptSetStats stats;
    const auto kept = prompt_set_build(
        records, options,
        [](const std::vector<ChatMessage> &conv) {
            std::vector<int32_t> ids;
            for (const ChatMessage &m : conv)
                for (unsigned char c : m.content) ids.push_back(c);
            return ids;
        },
        stats);
    if (stats.kept != kept.size() || stats.read > records.size()) fuzz::fuzz_fail("filter counts disagree");
    return 0;
}
