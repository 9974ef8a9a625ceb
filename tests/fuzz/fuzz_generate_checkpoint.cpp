// difr generate's checkpoint (OUT.partial.jsonl), read when a killed run is started again.
#include "difr/checkpoint.h"
#include "difr/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    static const std::string identity = R"({"model_sha256":"ab","sampling":{"temperature":1,"seed":42}})";
    static const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {1, 4}, {1, 5, 6, 7}, {9}};
    const std::string source = "fuzz.partial.jsonl";
    const std::string text = fuzz::fuzz_text(data, size);
    GenerateCheckpointState st;
    if (!fuzz::fuzz_expect<InputError>(
            source, [&] { st = generate_checkpoint_parse(text, source, identity, prompts); }))
        return 0;
    if (st.valid_bytes > text.size() || (st.valid_bytes > 0 && text[st.valid_bytes - 1] != '\n'))
        fuzz::fuzz_fail("valid_bytes does not end a whole line");
    for (const auto &[i, s] : st.finished)
        if (i >= prompts.size() || s.prompt_token_ids != prompts[i] || s.output_token_ids.empty())
            fuzz::fuzz_fail("a sequence that does not fit the run was kept");
    return 0;
}
