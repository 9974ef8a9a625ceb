// difr audit: generate through providers, re-tokenise, verify against a reference, report an AuditResult
// per provider (token-difr's audit_provider over several providers).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/audit.h"
#include "difr/audit_report.h"
#include "difr/error.h"
#include "difr/prompts.h"
#include "difr/registry.h"
#include "difr/results.h"

namespace difr::app {

namespace {

std::string strip_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

// "NAME" is an OpenRouter provider (pinned, no fallbacks); "NAME=URL" is any OpenAI-compatible endpoint.
AuditTarget target_parse(const std::string &spec, const std::string &openrouter_url,
                         const std::string &openrouter_model, const std::string &direct_model,
                         const std::string &key_env) {
    AuditTarget t;
    const size_t eq = spec.find('=');
    if (eq == 0 || spec.empty()) throw InputError("--provider '" + spec + "': expected NAME or NAME=URL");
    if (eq == std::string::npos) {
        t.name = spec;
        t.pin_provider = spec;
        t.endpoint.base_url = strip_slash(openrouter_url);
        t.endpoint.api_key_env = key_env.empty() ? "OPENROUTER_API_KEY" : key_env;
        t.endpoint.model = openrouter_model;
    } else {
        t.name = spec.substr(0, eq);
        t.endpoint.base_url = strip_slash(spec.substr(eq + 1));
        t.endpoint.api_key_env = key_env;
        if (t.endpoint.base_url.rfind("http://", 0) != 0 && t.endpoint.base_url.rfind("https://", 0) != 0)
            throw InputError("--provider '" + spec + "': the URL must start with http:// or https://");
        t.endpoint.model = direct_model;
    }
    return t;
}

// The model names each party uses. An explicit option wins; with --hf-model the registry supplies the rest
// (OpenRouter's id, Fireworks' name, the cached GGUF); otherwise everything is the GGUF file's stem.
struct ModelNames {
    std::string gguf;        // what -m resolves (empty: the embedded model)
    std::string openrouter;  // sent to OpenRouter providers
    std::string direct;      // sent to NAME=URL endpoints (vLLM serves under the HF name)
    std::string reference;   // sent to a remote reference
    std::string cross;       // sent to a remote cross-reference
};

ModelNames model_names(const std::string &hf, const std::string &registry_file, const std::string &gguf_opt,
                       const std::string &remote_opt, const std::string &reference_opt,
                       const std::string &reference_spec, const std::string &cross_spec) {
    ModelNames n;
    n.gguf = gguf_opt;
    if (hf.empty()) {
        if (!registry_file.empty()) throw InputError("--registry is only read with --hf-model");
        const std::string stem =
            remote_opt.empty() ? std::filesystem::path(model_resolve(gguf_opt)).stem().string() : remote_opt;
        n.openrouter = n.direct = stem;
        n.reference = n.cross = reference_opt.empty() ? stem : reference_opt;
        return n;
    }
    const Registry reg = registry_load(registry_file);
    if (n.gguf.empty()) {
        const std::optional<std::string> gguf = reg.find(hf, kRegistryGguf);
        if (!gguf)
            throw InputError("--hf-model '" + hf +
                             "': the model registry has no GGUF for it; pass the GGUF with -m (difr registry "
                             "lists the table)");
        n.gguf = *gguf;
    }
    n.openrouter = remote_opt.empty() ? reg.lookup(hf, kRegistryOpenRouter) : remote_opt;
    n.direct = remote_opt.empty() ? hf : remote_opt;
    auto remote_name = [&](const std::string &spec) {
        if (!reference_opt.empty()) return reference_opt;
        return spec.rfind("fireworks=", 0) == 0 ? reg.lookup(hf, kRegistryFireworks) : hf;
    };
    n.reference = remote_name(reference_spec);
    n.cross = remote_name(cross_spec);
    return n;
}

}  // namespace

void register_audit(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        SamplingOptions sampling;
        std::string prompts_file, system, out, store, remote_model, key_env, reference = "local";
        std::string cross_reference;
        std::string openrouter_url = "https://openrouter.ai/api/v1";
        RemoteReferenceOptions remote_reference;
        std::string hf_model, registry_file, assume_system;
        std::vector<std::string> providers;
        int32_t limit = 0, max_tokens = 100, concurrency = 8;
        bool vocab_only = false, logprobs = false, no_seed = false, provider_ids = false;
        double fail_below = -1.0;
        HttpOptions http;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "audit", "audit providers: generate through them, re-tokenise, verify against a reference");
    add_engine_options(*cmd, o->engine);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("--prompts", o->prompts_file, "JSONL file, one conversation per line")->required();
    cmd->add_option("--limit", o->limit, "audit only the first N conversations");
    cmd->add_option("--system", o->system,
                    "system prompt prepended to every conversation (sent and verified)");
    cmd->add_option("--assume-system", o->assume_system,
                    "verify as if the provider put this system prompt before every conversation (not sent): "
                    "a provider that adds another one, or none, matches less");
    cmd->add_option("-p,--provider", o->providers,
                    "NAME: an OpenRouter provider (pinned, no fallbacks); NAME=URL: an OpenAI-compatible "
                    "endpoint such as http://127.0.0.1:8080/v1 (repeatable)")
        ->required();
    cmd->add_option(
        "--hf-model", o->hf_model,
        "HuggingFace model name: the registry gives OpenRouter's id, Fireworks' name and the cached "
        "GGUF (difr registry); NAME=URL endpoints and a vLLM reference get the HF name");
    cmd->add_option("--registry", o->registry_file,
                    "registry file overriding the built-in one for --hf-model (also $DIFR_REGISTRY)");
    cmd->add_option("--remote-model", o->remote_model,
                    "model name sent to the providers (default: from --hf-model, else the GGUF file name "
                    "without .gguf)");
    cmd->add_option("--openrouter-url", o->openrouter_url, "base URL for NAME providers")
        ->capture_default_str();
    cmd->add_option("--api-key-env", o->key_env,
                    "environment variable holding the providers' key (default: OPENROUTER_API_KEY for "
                    "OpenRouter providers, none for NAME=URL endpoints)");
    cmd->add_option("--reference", o->reference, "local, fireworks=URL or vllm=URL")->capture_default_str();
    cmd->add_option(
        "--cross-reference", o->cross_reference,
        "a second reference (local, fireworks=URL or vllm=URL) verifying the same tokens, compared "
        "with --reference token by token (uses the same --reference-model, -key-env, -topk)");
    add_remote_reference_options(*cmd, o->remote_reference,
                                 "model name at the reference (default: --remote-model)");
    cmd->add_flag("--vocab-only", o->vocab_only, "load only the GGUF's vocabulary (remote reference only)");
    cmd->add_option("-n,--max-tokens", o->max_tokens, "tokens per answer")->capture_default_str();
    cmd->add_option("--concurrency", o->concurrency, "requests in flight per endpoint")
        ->capture_default_str();
    add_http_options(*cmd, o->http);
    cmd->add_flag("--logprobs", o->logprobs,
                  "ask providers for logprobs, to compare their token ids with the re-tokenised ones");
    cmd->add_flag(
        "--provider-ids", o->provider_ids,
        "with --logprobs: verify the token ids a provider returned when they spell exactly its text, "
        "instead of re-tokenising the text");
    cmd->add_flag("--no-seed", o->no_seed, "do not send the seed");
    cmd->add_option("-o,--out", o->out, "output directory: audit_results.json, one JSON per provider")
        ->required();
    cmd->add_option("--store", o->store,
                    "run store (SQLite; default OUT/runs.sqlite): re-runs continue from it");
    cmd->add_option("--fail-below", o->fail_below,
                    "exit with status 1 if any provider's match rate is below this")
        ->check(CLI::Range(0.0, 1.0));

    cmd->callback([o] {
        if (o->provider_ids && !o->logprobs)
            throw InputError(
                "--provider-ids needs --logprobs: providers return token ids only with logprobs");
        std::vector<std::vector<ChatMessage>> convs = conversations_read(o->prompts_file);
        if (o->limit > 0 && (size_t)o->limit < convs.size()) convs.resize(o->limit);
        if (!o->system.empty())
            for (auto &c : convs) c.insert(c.begin(), ChatMessage{"system", o->system});

        const ModelNames names = model_names(o->hf_model, o->registry_file, o->engine.model, o->remote_model,
                                             o->remote_reference.model, o->reference, o->cross_reference);
        const std::string model_path = model_resolve(names.gguf);
        ReferenceSpec ref = reference_spec_parse(o->reference, names.reference, o->remote_reference.key_env,
                                                 o->remote_reference.topk);
        if (o->vocab_only && ref.kind == ReferenceSpec::Kind::local)
            throw InputError(
                "--vocab-only needs a remote --reference: the local reference scores with the weights");
        std::optional<ReferenceSpec> cross;
        if (!o->cross_reference.empty()) {
            cross = reference_spec_parse(o->cross_reference, names.cross, o->remote_reference.key_env,
                                         o->remote_reference.topk, "--cross-reference");
            if (o->vocab_only && cross->kind == ReferenceSpec::Kind::local)
                throw InputError(
                    "--vocab-only and --cross-reference local exclude each other: the local "
                    "reference scores with the weights");
        }
        std::vector<AuditTarget> targets;
        for (const std::string &p : o->providers)
            targets.push_back(target_parse(p, o->openrouter_url, names.openrouter, names.direct, o->key_env));

        std::error_code ec;
        std::filesystem::create_directories(o->out, ec);
        if (ec) throw InputError("cannot create output directory '" + o->out + "': " + ec.message());
        RunStore store(o->store.empty() ? o->out + "/runs.sqlite" : o->store);
        auto model = Model::load(model_path, o->engine.settings, o->vocab_only);

        AuditOptions a;
        a.sampling = o->sampling.params;
        if (o->sampling.noise_auto()) {
            // llama.cpp's chain needs whole rows, not a top-k reference's
            for (NoiseProfile p : kNoiseProfiles) {
                if (ref.kind == ReferenceSpec::Kind::local || p != NoiseProfile::llama_cpp)
                    a.identify.push_back(p);
                else
                    a.noise = o->sampling.profile();
            }
        }
        a.max_tokens = o->max_tokens;
        a.concurrency = o->concurrency;
        a.send_seed = !o->no_seed;
        a.request_logprobs = o->logprobs;
        a.http = o->http;
        a.engine = o->engine.settings;
        a.assumed_system = o->assume_system;
        a.verify_provider_ids = o->provider_ids;
        a.cross_reference = cross;
        if (cross && cross->describe(*model) == ref.describe(*model))
            throw InputError("--cross-reference '" + o->cross_reference +
                             "' is the reference itself; name another one to compare with");

        // token-difr's multi-provider file: {"<provider>": AuditResult, ...}, rewritten after each provider
        // so that finished providers are on disk even if a later one fails.
        nlohmann::ordered_json all = nlohmann::ordered_json::object();
        std::vector<AuditResult> results;
        for (const AuditTarget &t : targets) {
            AuditResult r = audit_provider(*model, convs, t, ref, a, store);
            std::printf("%s: %s\n", t.name.c_str(), summary_audit_line(r.summary).c_str());
            if (r.identification)
                std::printf("%s: %s\n", t.name.c_str(), identification_line(*r.identification).c_str());
            if (r.cross_reference)
                std::printf("%s: %s\n", t.name.c_str(), cross_reference_line(*r.cross_reference).c_str());
            const std::string one = audit_result_to_json(r);
            all[t.name] = nlohmann::ordered_json::parse(one);
            file_write_atomic(o->out + "/audit_results.json", all.dump(2) + "\n");
            AuditReportOptions report;  // the HTML report of the providers so far (docs/audit.md)
            if (o->fail_below >= 0) report.threshold = o->fail_below;
            audit_report_write(o->out + "/audit_results.json", o->out + "/report.html", report);
            results.push_back(std::move(r));
        }
        std::printf("\n%s", audit_table(results).c_str());
        for (const AuditResult &r : results) {
            const RetokenizationStats &rt = r.retokenization;
            if (rt.sequences_compared > 0)
                std::printf(
                    "%s: re-tokenisation changed the ids of %lld of %lld answers (%lld of %lld tokens)\n",
                    r.provider.c_str(), (long long)rt.sequences_changed, (long long)rt.sequences_compared,
                    (long long)rt.tokens_changed, (long long)rt.tokens_compared);
        }
        std::printf("results: %s/audit_results.json  store: %s\n", o->out.c_str(), store.path().c_str());
        if (o->fail_below >= 0)
            for (const AuditResult &r : results)
                if (r.summary.exact_match_rate < o->fail_below) {
                    std::fprintf(stderr, "difr: %s: exact-match rate %.4f is below %.4f\n",
                                 r.provider.c_str(), r.summary.exact_match_rate, o->fail_below);
                    std::exit(1);
                }
    });
}

}  // namespace difr::app
