// A lab pass's tokens.jsonl (the verifier's per-token lines): `difr analyze LABDIR`.
#include "difr/error.h"
#include "difr/lab_analysis.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz/tokens.jsonl";
    const LabConfigInfo config{"fuzz", "honest", ""};
    ConfigTokens tokens;
    fuzz::fuzz_expect<InputError>(
        source, [&] { tokens = lab_tokens_parse(fuzz::fuzz_text(data, size), source, config, 100000); });
    return 0;
}
