// Reading a lab file (TOML). Every key is checked: an unknown key, kind or type is an InputError that names
// the file and the key, so a typo never silently becomes a default.
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "difr/error.h"
#include "difr/lab.h"
#include "difr/noise.h"
#include "difr/results.h"

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

class Reader {
public:
    explicit Reader(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string &key, const std::string &what) const {
        throw InputError(path_ + ": key '" + key + "': " + what);
    }

    void keys_check(const toml::table &t, const std::string &where,
                    const std::set<std::string> &allowed) const {
        for (const auto &[k, v] : t) {
            const std::string key(k.str());
            if (!allowed.count(key)) {
                std::string known;
                for (const auto &a : allowed) known += (known.empty() ? "" : ", ") + a;
                fail(where + key, "unknown key (known here: " + known + ")");
            }
        }
    }

    const toml::node *find(const toml::table &t, const std::string &key) const { return t.get(key); }

    std::optional<std::string> str(const toml::table &t, const std::string &where,
                                   const std::string &key) const {
        const toml::node *n = find(t, key);
        if (!n) return std::nullopt;
        if (!n->is_string()) fail(where + key, "expected a string, got " + type_name(*n));
        return n->value<std::string>();
    }
    std::optional<int64_t> integer(const toml::table &t, const std::string &where,
                                   const std::string &key) const {
        const toml::node *n = find(t, key);
        if (!n) return std::nullopt;
        if (!n->is_integer()) fail(where + key, "expected an integer, got " + type_name(*n));
        return n->value<int64_t>();
    }
    std::optional<double> number(const toml::table &t, const std::string &where,
                                 const std::string &key) const {
        const toml::node *n = find(t, key);
        if (!n) return std::nullopt;
        if (!n->is_number()) fail(where + key, "expected a number, got " + type_name(*n));
        return n->value<double>();
    }
    std::optional<bool> boolean(const toml::table &t, const std::string &where,
                                const std::string &key) const {
        const toml::node *n = find(t, key);
        if (!n) return std::nullopt;
        if (!n->is_boolean()) fail(where + key, "expected true or false, got " + type_name(*n));
        return n->value<bool>();
    }
    template <class T>
    T required(std::optional<T> v, const std::string &key) const {
        if (!v) fail(key, "missing (required)");
        return *v;
    }

    static std::string type_name(const toml::node &n) {
        switch (n.type()) {
            case toml::node_type::string:
                return "a string";
            case toml::node_type::integer:
                return "an integer";
            case toml::node_type::floating_point:
                return "a float";
            case toml::node_type::boolean:
                return "a boolean";
            case toml::node_type::table:
                return "a table";
            case toml::node_type::array:
                return "an array";
            default:
                return "a date or time";
        }
    }

private:
    std::string path_;
};

int32_t positive_int(const Reader &r, std::optional<int64_t> v, const std::string &key, int32_t fallback) {
    if (!v) return fallback;
    if (*v < 1 || *v > 1000000) r.fail(key, "must be between 1 and 1000000, got " + std::to_string(*v));
    return (int32_t)*v;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

LabConfig config_read(const Reader &r, const toml::table &t, size_t index, const LabSpec &spec) {
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
        if (auto v = r.integer(t, where, "threads")) s.n_threads = positive_int(r, v, where + "threads", 1);
        if (auto v = r.integer(t, where, "batch")) s.n_batch = positive_int(r, v, where + "batch", 1);
        if (auto v = r.integer(t, where, "parallel")) s.n_seq_max = positive_int(r, v, where + "parallel", 1);
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
        c.bug.top = positive_int(r, r.integer(t, where, "top"), where + "top", 20);
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
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error &e) {
        throw InputError(path + ":" + std::to_string(e.source().begin.line) + ":" +
                         std::to_string(e.source().begin.column) +
                         ": TOML syntax error: " + std::string(e.description()));
    }
    const Reader r(path);
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
    spec.n_prompts = positive_int(r, r.integer(root, "", "n_prompts"), "n_prompts", 100);
    spec.max_tokens = positive_int(r, r.integer(root, "", "max_tokens"), "max_tokens", 200);
    spec.noise = r.str(root, "", "noise").value_or("vllm");
    if (!noise_profile_from_name(spec.noise)) r.fail("noise", "unknown noise profile '" + spec.noise + "'");
    if (auto v = r.integer(root, "", "threads")) spec.settings.n_threads = positive_int(r, v, "threads", 1);

    const toml::node *claimed = root.get("claimed");
    if (!claimed) r.fail("claimed", "missing (required): the sampling the provider claims at T > 0");
    if (!claimed->is_table()) r.fail("claimed", "expected a table, got " + Reader::type_name(*claimed));
    const toml::table &ct = *claimed->as_table();
    r.keys_check(ct, "claimed.", {"temperature", "top_k", "top_p", "seed"});
    spec.claimed.temperature =
        (float)r.required(r.number(ct, "claimed.", "temperature"), "claimed.temperature");
    if (!(spec.claimed.temperature > 0.0f))
        r.fail("claimed.temperature", "must be > 0 (the greedy pass t0 is always run beside it)");
    spec.claimed.top_k = (int32_t)r.integer(ct, "claimed.", "top_k").value_or(0);
    spec.claimed.top_p = (float)r.number(ct, "claimed.", "top_p").value_or(1.0);
    if (!(spec.claimed.top_p > 0.0f && spec.claimed.top_p <= 1.0f))
        r.fail("claimed.top_p", "must be in (0, 1]");
    const int64_t seed = r.integer(ct, "claimed.", "seed").value_or(0);
    if (seed < 0) r.fail("claimed.seed", "must be >= 0");
    spec.claimed.seed = (uint64_t)seed;

    const toml::node *configs = root.get("configs");
    if (!configs) r.fail("configs", "missing (required): a list of [[configs]] tables");
    if (!configs->is_array_of_tables())
        r.fail("configs", "expected [[configs]] tables, got " + Reader::type_name(*configs));
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
