// Request bodies of `difr serve`'s prover endpoints (POST /v1/chat/completions, and /v1/completions with
// --prover-completions): messages or prompts, sampling, top_logprobs, seed_proof, Gonka's enforced_tokens
// replay, and the activation proofs a request asks for (fingerprint, toploc). Answered by the real
// ProverService on a tiny model the target writes at start-up (generation, replay and proofs run). The first
// byte picks the endpoint. Whatever the body, the service answers (it never throws) with 200 and a
// well-formed completion, or with 400 and an OpenAI-style error; a 200 answer to a request that asked for
// proofs carries them.
#include "fuzz_service.h"

namespace {

difr::ProverService *g_service = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    using namespace difr;
    static std::unique_ptr<Model> model = fuzz::fuzz_service_model("prover");
    g_service = new ProverService(*model, fuzz::fuzz_service_settings(), "tiny", 8);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    using json = nlohmann::json;
    if (size == 0) return 0;
    const bool chat = data[0] & 1;
    const std::string request = fuzz::fuzz_text(data + 1, size - 1);
    const auto [status, body] = fuzz::fuzz_service_answer(chat ? "chat_completions()" : "completions()", [&] {
        return chat ? g_service->chat_completions(request) : g_service->completions(request);
    });
    if (status != 200) return 0;
    // Absent, null or false means not asked for (activation_proof_request_parse); the answer says so too.
    const json req = json::parse(request, nullptr, false);
    const auto asked = [&](const char *name) {
        if (!req.is_object() || !req.contains(name)) return false;
        const json &v = req[name];
        return !v.is_null() && !(v.is_boolean() && !v.get<bool>());
    };
    const bool has_proofs =
        body.contains("difr") && body["difr"].is_object() && body["difr"].contains("activation_proofs");
    if ((asked("fingerprint") || asked("toploc")) != has_proofs)
        fuzz::fuzz_fail(std::string("activation proofs ") +
                        (has_proofs ? "answered unasked" : "asked for, not answered") + ": " +
                        request.substr(0, 200));
    return 0;
}
