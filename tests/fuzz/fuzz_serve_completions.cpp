// Request bodies of `difr serve`'s POST /v1/completions (Fireworks echo and vLLM prompt_logprobs), answered
// by the real request logic on a tiny model that the target writes at start-up. Whatever the body, the
// service answers (it never throws) with 200 and a well-formed completion, or with 400 and an OpenAI-style
// error.
#include "fuzz_service.h"

namespace {

difr::ReferenceService *g_service = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    using namespace difr;
    static std::unique_ptr<Model> model = fuzz::fuzz_service_model("serve");
    g_service = new ReferenceService(*model, fuzz::fuzz_service_settings(), "tiny", 8);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string request = difr::fuzz::fuzz_text(data, size);
    difr::fuzz::fuzz_service_answer("completions()", [&] { return g_service->completions(request); });
    return 0;
}
