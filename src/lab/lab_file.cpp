// Reading a lab file (TOML). Every key is checked: an unknown key, kind or type is an InputError that names
// the file and the key, so a typo never silently becomes a default.
#include <algorithm>
#include <filesystem>
#include <set>

#include "difr/error.h"
#include "difr/lab.h"
#include "difr/noise.h"
#include "difr/results.h"
#include "lab_toml.h"

namespace difr {

namespace {

struct KindInfo {
    const char *kind;
    LabRole role;
    std::set<std::string> keys;  // besides name, kind and description
};

const KindInfo kKinds[] = {
    {"reference", LabRole::honest, {}},
    {"engine", LabRole::honest, {"threads", "batch", "parallel", "flash_attn", "repack"}},
    {"quantize", LabRole::deviation, {"type"}},
    {"kv_cache", LabRole::deviation, {"type"}},
    {"temperature", LabRole::deviation, {"value"}},
    {"top_p", LabRole::deviation, {"value"}},
    {"seed", LabRole::deviation, {"value"}},
    {"sampling_bug", LabRole::deviation, {"rate", "top", "seed"}},
    {"system_prompt", LabRole::deviation, {"text"}},
    {"model", LabRole::deviation, {"model"}},
    {"prefill", LabRole::deviation, {"cheap", "kv_type"}},
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

LabConfig config_read(const LabTomlReader &r, const toml::table &t, size_t index, const LabSpec &spec) {
    const std::string where = "configs[" + std::to_string(index) + "].";
    LabConfig c;
    c.name = r.required(r.str(t, where, "name"), where + "name");
    if (c.name.empty() ||
        c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos)
        r.fail(where + "name", "'" + c.name + "' may only hold letters, digits, '_', '.' and '-'");
    c.kind = r.required(r.str(t, where, "kind"), where + "kind");
    const KindInfo *info = nullptr;
    std::string known;
    for (const KindInfo &k : kKinds) {
        if (c.kind == k.kind) info = &k;
        known += (known.empty() ? "" : ", ") + std::string(k.kind);
    }
    if (!info) r.fail(where + "kind", "unknown configuration kind '" + c.kind + "' (known: " + known + ")");
    std::set<std::string> allowed = info->keys;
    allowed.insert({"name", "kind", "description"});
    r.keys_check(t, where, allowed);
    c.role = info->role;
    c.settings = spec.settings;
    const std::string &k = c.kind;
    std::string desc;
    char buf[160];
    if (k == "reference") {
        desc = "the reference model and engine settings (honest)";
    } else if (k == "engine") {
        EngineSettings &s = c.settings;
        if (auto v = r.positive(t, where, "threads")) s.n_threads = *v;
        if (auto v = r.positive(t, where, "batch")) s.n_batch = *v;
        if (auto v = r.positive(t, where, "parallel")) s.n_seq_max = *v;
        if (auto v = r.boolean(t, where, "flash_attn")) s.flash_attn = *v ? "on" : "off";
        if (auto v = r.boolean(t, where, "repack")) s.repack = *v;
        if (s.to_json() == spec.settings.to_json())
            r.fail(where + "kind",
                   "an engine configuration must change threads, batch, parallel, flash_attn "
                   "or repack");
        desc = "honest engine variation: " + s.to_json();
    } else if (k == "quantize" || k == "prefill") {
        const std::string key = k == "quantize" ? "type" : "cheap";
        c.quantize = r.required(r.str(t, where, key), where + key);
        desc = k == "quantize" ? "weights requantised to " + c.quantize
                               : "pre-fill attack: a cheap " + c.quantize +
                                     " requantisation generates, the claim is the reference";
        if (k == "prefill") {
            if (auto kv = r.str(t, where, "kv_type")) {
                // The cheap model may also cut its KV cache; llama.cpp needs flash attention for that.
                c.settings.kv_type = lower(*kv);
                c.settings.flash_attn = "on";
                desc = "pre-fill attack: a cheap " + c.quantize + " requantisation with a " +
                       c.settings.kv_type + " KV cache generates, the claim is the reference";
            }
        }
    } else if (k == "kv_cache") {
        c.settings.kv_type = lower(r.required(r.str(t, where, "type"), where + "type"));
        // llama.cpp cannot build a quantised V cache without flash attention.
        c.settings.flash_attn = "on";
        desc = "KV cache " + c.settings.kv_type + " (with flash attention, which a quantised V cache needs)";
    } else if (k == "temperature" || k == "top_p") {
        const double v = r.required(r.number(t, where, "value"), where + "value");
        if (k == "temperature") {
            if (!(v > 0.0)) r.fail(where + "value", "a wrong temperature must be > 0");
            c.temperature = (float)v;
        } else {
            if (!(v > 0.0 && v <= 1.0)) r.fail(where + "value", "top_p must be in (0, 1]");
            c.top_p = (float)v;
        }
        std::snprintf(buf, sizeof buf, "%s %g instead of the claimed %g",
                      k == "temperature" ? "temperature" : "top-p", v,
                      k == "temperature" ? spec.claimed.temperature : spec.claimed.top_p);
        desc = buf;
        c.greedy_pass = false;
    } else if (k == "seed") {
        const int64_t v = r.required(r.integer(t, where, "value"), where + "value");
        if (v < 0) r.fail(where + "value", "a seed must be >= 0");
        c.seed = (uint64_t)v;
        desc = "seed " + std::to_string(v) + " instead of the claimed " + std::to_string(spec.claimed.seed);
        c.greedy_pass = false;
    } else if (k == "sampling_bug") {
        c.bug.rate = r.number(t, where, "rate").value_or(0.01);
        if (!(c.bug.rate > 0.0 && c.bug.rate <= 1.0)) r.fail(where + "rate", "must be in (0, 1]");
        c.bug.top = r.positive(t, where, "top").value_or(20);
        const int64_t seed = r.integer(t, where, "seed").value_or(1234);
        if (seed < 0) r.fail(where + "seed", "must be >= 0");
        c.bug.seed = (uint64_t)seed;
        std::snprintf(buf, sizeof buf, "sampling bug: %g%% of tokens replaced by another of the top %d",
                      100.0 * c.bug.rate, c.bug.top);
        desc = buf;
    } else if (k == "system_prompt") {
        c.system_prompt = r.required(r.str(t, where, "text"), where + "text");
        desc = "the provider adds a system prompt the claim leaves out";
    } else if (k == "model") {
        c.model = r.required(r.str(t, where, "model"), where + "model");
        desc = "another model (" + c.model + "), its text re-tokenised with the reference's vocabulary";
    }
    c.description = r.str(t, where, "description").value_or(desc);
    return c;
}

}  // namespace

LabSpec lab_spec_read(const std::string &path) {
    return lab_spec_parse(file_read_text(path, "lab file"), path);
}

LabSpec lab_spec_parse(const std::string &text, const std::string &path) {
    const LabTomlReader r(path);
    const toml::table root = r.parse(text);
    r.keys_check(root, "",
                 {"name", "reference", "prompts", "n_prompts", "max_tokens", "noise", "threads", "claimed",
                  "configs"});
    LabSpec spec;
    spec.path = path;
    spec.name = r.str(root, "", "name").value_or(std::filesystem::path(path).stem().string());
    spec.reference = r.required(r.str(root, "", "reference"), "reference");
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::filesystem::path prompts = r.required(r.str(root, "", "prompts"), "prompts");
    if (prompts.is_relative()) prompts = dir / prompts;
    spec.prompts = prompts.lexically_normal().string();
    spec.n_prompts = r.positive(root, "", "n_prompts").value_or(100);
    spec.max_tokens = r.positive(root, "", "max_tokens").value_or(200);
    spec.noise = r.str(root, "", "noise").value_or("vllm");
    if (!noise_profile_from_name(spec.noise)) r.fail("noise", "unknown noise profile '" + spec.noise + "'");
    if (auto v = r.positive(root, "", "threads")) spec.settings.n_threads = *v;

    const toml::node *claimed = root.get("claimed");
    if (!claimed) r.fail("claimed", "missing (required): the sampling the provider claims at T > 0");
    if (!claimed->is_table())
        r.fail("claimed", "expected a table, got " + LabTomlReader::type_name(*claimed));
    const toml::table &ct = *claimed->as_table();
    r.keys_check(ct, "claimed.", {"temperature", "top_k", "top_p", "seed"});
    spec.claimed.temperature =
        (float)r.required(r.number(ct, "claimed.", "temperature"), "claimed.temperature");
    if (!(spec.claimed.temperature > 0.0f))
        r.fail("claimed.temperature", "must be > 0 (the greedy pass t0 is always run beside it)");
    spec.claimed.top_k = r.integer<int32_t>(ct, "claimed.", "top_k").value_or(0);
    spec.claimed.top_p = (float)r.number(ct, "claimed.", "top_p").value_or(1.0);
    if (!(spec.claimed.top_p > 0.0f && spec.claimed.top_p <= 1.0f))
        r.fail("claimed.top_p", "must be in (0, 1]");
    const int64_t seed = r.integer(ct, "claimed.", "seed").value_or(0);
    if (seed < 0) r.fail("claimed.seed", "must be >= 0");
    spec.claimed.seed = (uint64_t)seed;

    const toml::node *configs = root.get("configs");
    if (!configs) r.fail("configs", "missing (required): a list of [[configs]] tables");
    if (!configs->is_array_of_tables())
        r.fail("configs", "expected [[configs]] tables, got " + LabTomlReader::type_name(*configs));
    std::set<std::string> names;
    const toml::array &arr = *configs->as_array();
    for (size_t i = 0; i < arr.size(); ++i) {
        spec.configs.push_back(config_read(r, *arr[i].as_table(), i, spec));
        if (!names.insert(spec.configs.back().name).second)
            r.fail("configs[" + std::to_string(i) + "].name",
                   "'" + spec.configs.back().name + "' is used twice");
    }
    if (spec.configs.empty()) r.fail("configs", "holds no configuration");
    return spec;
}

SamplingParams lab_claimed(const LabSpec &spec, const std::string &pass) {
    if (pass == "t1") return spec.claimed;
    SamplingParams greedy;  // T = 0: top-k, top-p and the seed play no part
    greedy.seed = spec.claimed.seed;
    return greedy;
}

}  // namespace difr
