// Chat-completion answers (OpenRouter, vLLM, llama-server, first-party APIs): what `difr audit` stores and
// tokenises.
#include "difr/remote.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string where = "fuzz POST /v1/chat/completions";
    ChatResponse r;
    if (!fuzz::fuzz_expect<RemoteError>(where,
                                        [&] { r = chat_response_parse(fuzz::fuzz_text(data, size), where); }))
        return 0;
    (void)chat_response_text(r);
    (void)provider_matches("deepinfra/fp8", r.provider);
    return 0;
}
