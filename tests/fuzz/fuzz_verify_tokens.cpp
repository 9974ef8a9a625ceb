// difr verify's tokens.jsonl as its checkpoint, read when a killed run is started again.
#include "difr/checkpoint.h"
#include "difr/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    static const std::vector<TokenSequence> seqs = {
        {{1, 2}, {5, 6}}, {{1}, {}}, {{1, 3}, {7, 8, 9}}, {{1}, {4}}};
    const std::string source = "fuzz/tokens.jsonl";
    const std::string text = fuzz::fuzz_text(data, size);
    VerifyCheckpointState st;
    if (!fuzz::fuzz_expect<InputError>(source, [&] { st = verify_tokens_parse(text, source, seqs); }))
        return 0;
    if (st.sequences_done > seqs.size() || st.metrics.size() != st.sequences_done ||
        st.valid_bytes > text.size())
        fuzz::fuzz_fail("inconsistent state");
    for (size_t i = 0; i < st.sequences_done; ++i)
        if (st.metrics[i].size() != seqs[i].output_token_ids.size())
            fuzz::fuzz_fail("a partial sequence was kept");
    return 0;
}
