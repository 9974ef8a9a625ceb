// Request bodies of `difr serve`'s prover endpoints (POST /v1/chat/completions, and /v1/completions with
// --prover-completions): messages or prompts, sampling, top_logprobs, seed_proof, Gonka's enforced_tokens
// replay, and the activation proofs a request asks for (fingerprint, toploc). Answered by the real
// ProverService on a tiny model the target writes at start-up (generation, replay and proofs run). The first
// byte picks the endpoint. Whatever the body, the service answers (it never throws) with 200 and a
// well-formed completion, or with 400 and an OpenAI-style error; a 200 answer to a request that asked for
// proofs carries them.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "../engine/tiny_model.h"
#include "difr/server.h"
#include "fuzz_common.h"

namespace {

difr::ProverService *g_service = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    using namespace difr;
    std::string dir = std::filesystem::temp_directory_path().string() + "/difr-fuzz-prover-XXXXXX";
    if (!mkdtemp(dir.data())) fuzz::fuzz_fail("cannot create a temporary directory");
    const std::string path = dir + "/tiny.gguf";
    test::TinyModelSpec spec;
    spec.n_vocab = 400;
    spec.n_ctx_train = 96;  // prompts past the context are cheap to make
    test::tiny_model_write(path, spec);
    EngineSettings settings;
    settings.n_threads = 1;
    settings.n_batch = 32;
    static std::unique_ptr<Model> model = Model::load(path, settings);
    std::filesystem::remove_all(dir);  // loaded: the file is no longer needed
    g_service = new ProverService(*model, settings, "tiny", 8);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    using json = nlohmann::json;
    if (size == 0) return 0;
    const bool chat = data[0] & 1;
    const std::string request = fuzz::fuzz_text(data + 1, size - 1);
    HttpReply r;
    try {
        r = chat ? g_service->chat_completions(request) : g_service->completions(request);
    } catch (const std::exception &e) {
        fuzz::fuzz_fail(std::string("completions() threw: ") + e.what());
    }
    json body;
    try {
        body = json::parse(r.body);
    } catch (const json::exception &e) {
        fuzz::fuzz_fail("the answer is not JSON: " + r.body.substr(0, 200));
    }
    if (r.status == 200) {
        if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].size() != 1 ||
            !body.contains("usage"))
            fuzz::fuzz_fail("a 200 answer without choices[0] or usage: " + r.body.substr(0, 200));
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
    } else if (r.status == 400) {
        if (!body.contains("error") || !body["error"]["message"].is_string() ||
            body["error"]["message"].get<std::string>().empty())
            fuzz::fuzz_fail("a 400 answer without an error message: " + r.body.substr(0, 200));
    } else {
        fuzz::fuzz_fail("HTTP " + std::to_string(r.status) + " for a request body: " + r.body.substr(0, 200));
    }
    return 0;
}
