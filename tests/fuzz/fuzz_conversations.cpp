// Conversation files (JSONL, one conversation per line): `difr generate --prompts` and the lab's prompts.
#include "difr/error.h"
#include "difr/prompts.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz.jsonl";
    std::vector<std::vector<ChatMessage>> convs;
    if (!fuzz::fuzz_expect<InputError>(
            source, [&] { convs = conversations_parse(fuzz::fuzz_text(data, size), source); }))
        return 0;
    if (convs.empty()) fuzz::fuzz_fail("an empty conversation list was accepted");
    for (const auto &c : convs)
        if (c.empty()) fuzz::fuzz_fail("an empty conversation was accepted");
    return 0;
}
