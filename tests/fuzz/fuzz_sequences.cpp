// Token-sequence files, both formats (token-difr's list and DiFR's vLLM-style samples): `difr verify -i`.
#include "difr/error.h"
#include "difr/sequences.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz.json";
    SequenceFile file;
    if (!fuzz::fuzz_expect<InputError>(source,
                                       [&] { file = sequences_parse(fuzz::fuzz_text(data, size), source); }))
        return 0;
    for (const TokenSequence &s : file.sequences)
        for (const auto *ids : {&s.prompt_token_ids, &s.output_token_ids})
            for (int32_t id : *ids)
                if (id < 0) fuzz::fuzz_fail("a negative token id was accepted");
    return 0;
}
