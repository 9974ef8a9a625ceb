#include "difr/registry.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"

#ifndef DIFR_REGISTRY_JSON
#define DIFR_REGISTRY_JSON "data/registry.json"
#endif

namespace difr {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

}  // namespace

void Registry::merge_file(const std::string &path) {
    merge_text(file_read_text(path, "registry file"), path);
}

void Registry::merge_text(const std::string &text, const std::string &path) {
    const nlohmann::json doc = json_parse_located(text, path);
    if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array())
        throw InputError(path +
                         ": expected {\"models\": [{\"hf\": \"org/Name\", \"fireworks\": \"...\", ...}]}");
    std::set<std::string> seen;
    const nlohmann::json &models = doc["models"];
    for (size_t i = 0; i < models.size(); ++i) {
        const nlohmann::json &m = models[i];
        const std::string where = path + ": models[" + std::to_string(i) + "]";
        if (!m.is_object()) throw InputError(where + ": expected an object");
        if (!m.contains("hf") || !m["hf"].is_string() || m["hf"].get<std::string>().empty())
            throw InputError(where + ": needs \"hf\", the HuggingFace model name (a non-empty string)");
        const std::string hf = m["hf"].get<std::string>();
        if (!seen.insert(hf).second) throw InputError(where + ": \"" + hf + "\" appears twice in this file");
        auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const RegistryEntry &e) { return e.hf_name == hf; });
        if (it == entries_.end()) {
            entries_.push_back(RegistryEntry{hf, {}, path});
            it = entries_.end() - 1;
        }
        for (const auto &[kind, name] : m.items()) {
            if (kind == "hf") continue;
            if (!name.is_string() || name.get<std::string>().empty())
                throw InputError(where + "." + kind +
                                 ": expected a provider model name (a non-empty string)");
            it->names[kind] = name.get<std::string>();
        }
        it->source = path;
    }
    files_.push_back(path);
}

std::optional<std::string> Registry::find(const std::string &hf_name, const std::string &kind) const {
    for (const RegistryEntry &e : entries_) {
        if (e.hf_name != hf_name) continue;
        auto n = e.names.find(kind);
        if (n != e.names.end()) return n->second;
    }
    if (kind == kRegistryOpenRouter) return lower(hf_name);
    return std::nullopt;
}

std::string Registry::lookup(const std::string &hf_name, const std::string &kind) const {
    if (auto name = find(hf_name, kind)) return *name;
    std::string files;
    for (const std::string &f : files_) files += (files.empty() ? "" : ", ") + f;
    const bool known = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const RegistryEntry &e) { return e.hf_name == hf_name; });
    std::string msg = "no " + kind + " name for '" + hf_name + "' in the model registry (" +
                      (files.empty() ? std::string("no files read") : files) + ")" +
                      (known ? "" : "; the model is not listed at all") + ". Add {\"hf\": \"" + hf_name +
                      "\", \"" + kind + "\": \"...\"} to a file given with --registry or $DIFR_REGISTRY";
    if (kind == kRegistryFireworks) msg += " (token-difr's guess: " + registry_guess_fireworks(hf_name) + ")";
    throw InputError(msg);
}

std::string registry_builtin_path() {
    return DIFR_REGISTRY_JSON;
}

Registry registry_load(const std::string &user_file) {
    Registry r;
    r.merge_file(registry_builtin_path());
    if (const char *env = std::getenv("DIFR_REGISTRY"); env && *env) r.merge_file(env);
    if (!user_file.empty()) r.merge_file(user_file);
    return r;
}

std::string registry_guess_fireworks(const std::string &hf_name) {
    const size_t slash = hf_name.find('/');
    std::string name = lower(slash == std::string::npos ? hf_name : hf_name.substr(slash + 1));
    std::replace(name.begin(), name.end(), '.', 'p');
    return "accounts/fireworks/models/" + name;
}

}  // namespace difr
