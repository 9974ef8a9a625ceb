// Remote references and provider audits from Python: token sequences verified against a prompt-logprob
// endpoint (Fireworks-style echo, vLLM prompt_logprobs, difr serve), and token-difr's audit_provider over
// difr's audit pipeline (OpenRouter or any OpenAI-compatible endpoint; a local or remote reference).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <nlohmann/json.hpp>

#include "difr/audit.h"
#include "difr/error.h"
#include "difr/reference.h"
#include "difr/store.h"
#include "py_bindings.h"
#include "py_common.h"
#include "py_model.h"
#include "py_verify.h"

namespace difr::py {

HttpOptions http_options(double timeout, double connect_timeout, int32_t max_attempts, double backoff) {
    HttpOptions h;
    h.timeout_s = timeout;
    h.connect_timeout_s = connect_timeout;
    h.max_attempts = max_attempts;
    h.backoff_initial_s = backoff;
    return h;
}

namespace {

SamplingParams sampling_params(float temperature, int32_t top_k, float top_p, uint64_t seed) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.seed = seed;
    return p;
}

NoiseProfile noise_profile(const std::string &noise) {
    const std::optional<NoiseProfile> p = noise_profile_from_name(noise);
    if (!p) throw InputError("unknown noise profile '" + noise + "'");
    return *p;
}

// "fireworks=URL" / "vllm=URL" / "local", with the key handed over directly when the caller has one.
ReferenceSpec reference_spec(const std::string &spec, const std::string &model, const std::string &api_key,
                             const std::string &api_key_env, int32_t topk) {
    ReferenceSpec ref = reference_spec_parse(spec, model, api_key_env, topk, "reference");
    ref.endpoint.api_key = api_key;
    return ref;
}

nb::dict verify_remote(nb::handle outputs, int32_t n_vocab, const std::string &spec, const std::string &model,
                       const std::string &api_key, const std::string &api_key_env, int32_t topk,
                       float temperature, int32_t top_k, float top_p, uint64_t seed, const std::string &noise,
                       int32_t concurrency, double timeout, double connect_timeout, int32_t max_attempts,
                       double backoff, const std::string &out_dir, const std::string &input_label,
                       bool progress) {
    const std::vector<TokenSequence> seqs = sequences_from_python(outputs);
    if (n_vocab < 1) throw InputError("vocab_size must be at least 1 (got " + std::to_string(n_vocab) + ")");
    if (concurrency < 1)
        throw InputError("concurrency must be at least 1 (got " + std::to_string(concurrency) + ")");
    const ReferenceSpec ref = reference_spec(spec, model, api_key, api_key_env, topk);
    if (ref.kind != ReferenceSpec::Kind::remote)
        throw InputError("reference '" + spec +
                         "': expected fireworks=URL or vllm=URL (verify_outputs is the "
                         "local reference)");
    RemoteVerifyOptions rv;
    rv.verify.sampling = sampling_params(temperature, top_k, top_p, seed);
    rv.verify.noise = noise_profile(noise);
    rv.concurrency = concurrency;
    rv.http = http_options(timeout, connect_timeout, max_attempts, backoff);
    const std::unique_ptr<TokenMetricsWriter> writer = metrics_writer_open(out_dir);

    VerifyRun run = run_interruptible<VerifyRun>([&](const InterruptCheck &check) {
        VerifyRun r;
        RemoteVerifyOptions o = rv;
        o.verify.interrupt_check = check;
        std::unique_ptr<ProgressBar> bar;
        if (progress) bar = std::make_unique<ProgressBar>("verify", seqs.size());
        r.result = verify_sequences_remote(
            ref, n_vocab, seqs, o, writer.get(),
            [&](size_t done, size_t) {
                if (bar) bar->update(done);
            },
            [&](size_t, std::span<const TokenMetrics> ms) { r.add(ms); });
        if (bar) bar->finish();
        if (!out_dir.empty()) {
            nlohmann::ordered_json prov;
            prov["difr_version"] = "0.1.0";
            prov["input"] = input_label;
            prov["n_vocab"] = n_vocab;
            prov["sampling"] = {
                {"temperature", temperature}, {"top_k", top_k}, {"top_p", top_p}, {"seed", seed}};
            prov["noise"] = std::string(noise_profile_name(rv.verify.noise));
            prov["reference"] = nlohmann::ordered_json::parse(ref.to_json());
            prov["engine"] = nullptr;  // the reference scored
            prov["concurrency"] = concurrency;
            prov["tokens_evaluated"] = r.result.stats.tokens_evaluated;
            prov["seconds"] = r.result.seconds;
            file_write_atomic(out_dir + "/summary.json", summary_to_json(r.result.summary, prov.dump()));
        }
        return r;
    });
    return verify_run_to_python(std::move(run));
}

}  // namespace

void register_remote(nb::module_ &m) {
    m.def("verify_remote", &verify_remote, nb::arg("outputs"), nb::arg("n_vocab"), nb::arg("reference"),
          nb::arg("model"), nb::arg("api_key"), nb::arg("api_key_env"), nb::arg("topk"),
          nb::arg("temperature"), nb::arg("top_k"), nb::arg("top_p"), nb::arg("seed"), nb::arg("noise"),
          nb::arg("concurrency"), nb::arg("timeout"), nb::arg("connect_timeout"), nb::arg("max_attempts"),
          nb::arg("backoff"), nb::arg("out_dir"), nb::arg("input_label"), nb::arg("progress"),
          "verifies token sequences against a remote prompt-logprob reference (difr verify --reference)");

    m.def(
        "audit",
        [](PyModel &pm, nb::handle conversations, const std::string &name, const std::string &base_url,
           const std::string &pin_provider, const std::string &provider_model, const std::string &api_key,
           const std::string &api_key_env, const std::string &reference, const std::string &reference_model,
           const std::string &reference_key, const std::string &reference_key_env, int32_t topk,
           float temperature, int32_t top_k, float top_p, uint64_t seed, const std::string &noise,
           int32_t max_tokens, int32_t concurrency, bool send_seed, bool logprobs, bool provider_ids,
           const std::string &assume_system, const std::string &store_path, bool progress, double timeout,
           int32_t max_attempts) {
            Model &model = pm.get();
            std::vector<std::vector<ChatMessage>> convs;
            {
                nb::object fast = nb::steal(PySequence_Fast(conversations.ptr(), ""));
                if (!fast.is_valid()) {
                    PyErr_Clear();
                    throw nb::type_error(
                        "conversations: expected a list of conversations (lists of messages)");
                }
                for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast.ptr()); ++i)
                    convs.push_back(messages_from_python(PySequence_Fast_GET_ITEM(fast.ptr(), i),
                                                         "conversation " + std::to_string(i)));
            }
            AuditTarget target;
            target.name = name;
            target.endpoint.base_url = base_url;
            target.endpoint.model = provider_model;
            target.endpoint.api_key = api_key;
            target.endpoint.api_key_env = api_key_env;
            target.pin_provider = pin_provider;
            const ReferenceSpec ref =
                reference_spec(reference, reference_model, reference_key, reference_key_env, topk);
            if (ref.kind == ReferenceSpec::Kind::local && pm.vocab_only)
                throw InputError("a local reference needs the model's weights; it was loaded vocab_only");
            AuditOptions o;
            o.sampling = sampling_params(temperature, top_k, top_p, seed);
            o.noise = noise_profile(noise);
            o.max_tokens = max_tokens;
            o.concurrency = concurrency;
            o.send_seed = send_seed;
            o.request_logprobs = logprobs;
            o.verify_provider_ids = provider_ids;
            o.assumed_system = assume_system;
            o.progress = progress;
            o.engine = pm.settings;
            o.http.timeout_s = timeout;
            o.http.max_attempts = max_attempts;
            const std::string result = run_interruptible<std::string>([&](const InterruptCheck &check) {
                AuditOptions oo = o;
                oo.interrupt_check = check;
                RunStore store(store_path);
                return audit_result_to_json(audit_provider(model, convs, target, ref, oo, store));
            });
            return json_to_python(result);
        },
        nb::arg("model"), nb::arg("conversations"), nb::arg("name"), nb::arg("base_url"),
        nb::arg("pin_provider"), nb::arg("provider_model"), nb::arg("api_key"), nb::arg("api_key_env"),
        nb::arg("reference"), nb::arg("reference_model"), nb::arg("reference_key"),
        nb::arg("reference_key_env"), nb::arg("topk"), nb::arg("temperature"), nb::arg("top_k"),
        nb::arg("top_p"), nb::arg("seed"), nb::arg("noise"), nb::arg("max_tokens"), nb::arg("concurrency"),
        nb::arg("send_seed"), nb::arg("logprobs"), nb::arg("provider_ids"), nb::arg("assume_system"),
        nb::arg("store"), nb::arg("progress"), nb::arg("timeout"), nb::arg("max_attempts"),
        "one provider's audit (difr audit): the result object of audit_results.json");
}

}  // namespace difr::py
