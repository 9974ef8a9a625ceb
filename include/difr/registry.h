// The model registry: HuggingFace model names mapped to the names providers use for them (Fireworks'
// accounts/fireworks/models/..., OpenRouter ids, difr's cached GGUF). The built-in table is
// data/registry.json (token-difr 0.1.2's model_registry.py plus the embedded model); users add or override
// entries with files of the same shape.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace difr {

// Provider kinds the built-in table knows. A registry file may carry other kinds; lookups take any string.
inline constexpr const char *kRegistryFireworks = "fireworks";
inline constexpr const char *kRegistryOpenRouter = "openrouter";
inline constexpr const char *kRegistryGguf = "gguf";

struct RegistryEntry {
    std::string hf_name;
    std::map<std::string, std::string> names;  // kind -> provider's model name
    std::string source;                        // the file that last set a field of this entry
};

class Registry {
public:
    // Adds a file {"models": [{"hf": "...", "<kind>": "<name>", ...}, ...]}. An entry whose hf name is
    // already present replaces those of its fields it gives and keeps the others. Throws InputError naming
    // the file and the entry index for malformed JSON, a missing or non-string "hf", a non-string name, or
    // an hf name given twice in one file.
    void merge_file(const std::string &path);
    // The same from a file's text; `source` names it in errors and in files().
    void merge_text(const std::string &text, const std::string &source);

    // The provider name of `hf_name` for `kind`. OpenRouter falls back to the lowercased hf name when the
    // registry has none (token-difr's get_openrouter_name). Throws InputError saying which files were read
    // and how to add the entry when there is no name.
    std::string lookup(const std::string &hf_name, const std::string &kind) const;
    std::optional<std::string> find(const std::string &hf_name, const std::string &kind) const;

    const std::vector<RegistryEntry> &entries() const { return entries_; }  // in first-seen order
    const std::vector<std::string> &files() const { return files_; }

private:
    std::vector<RegistryEntry> entries_;
    std::vector<std::string> files_;
};

// data/registry.json of the source tree this difr was built from.
std::string registry_builtin_path();

// The built-in table, then $DIFR_REGISTRY when set, then `user_file` when not empty: later files override.
Registry registry_load(const std::string &user_file = "");

// token-difr's guess_fireworks_name: "accounts/fireworks/models/" + the lowercased name after the org with
// dots as "p" (meta-llama/Llama-3.1-8B-Instruct -> .../llama-3p1-8b-instruct). A hint, not a lookup.
std::string registry_guess_fireworks(const std::string &hf_name);

}  // namespace difr
