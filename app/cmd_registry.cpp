// difr registry: the model-name table (HF name -> provider names), or one lookup.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/registry.h"

namespace difr::app {

void register_registry(CLI::App &app) {
    struct Opts {
        std::string file, hf_name, kind, format = "table";
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "registry",
        "print the model registry (HF name -> Fireworks, OpenRouter, GGUF names), or look one up");
    cmd->add_option("hf_name", o->hf_name, "HuggingFace model name to look up (with --kind)");
    cmd->add_option("--kind", o->kind, "provider kind for the lookup: fireworks, openrouter, gguf, ...");
    cmd->add_option("--registry", o->file, "registry file overriding the built-in one (also $DIFR_REGISTRY)");
    cmd->add_option("--format", o->format, "table or json")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
    cmd->callback([o] {
        const Registry r = registry_load(o->file);
        if (!o->hf_name.empty()) {
            if (o->kind.empty()) throw CLI::RequiredError("--kind (with a model name)");
            std::printf("%s\n", r.lookup(o->hf_name, o->kind).c_str());
            return;
        }
        if (o->format == "json") {
            nlohmann::ordered_json models = nlohmann::ordered_json::array();
            for (const RegistryEntry &e : r.entries()) {
                nlohmann::ordered_json m;
                m["hf"] = e.hf_name;
                for (const auto &[kind, name] : e.names) m[kind] = name;
                models.push_back(m);
            }
            std::printf("%s\n", nlohmann::ordered_json{{"models", models}}.dump(2).c_str());
            return;
        }
        for (const std::string &f : r.files()) std::printf("# %s\n", f.c_str());
        std::printf("%-40s %-12s %s\n", "hf", "kind", "name");
        for (const RegistryEntry &e : r.entries())
            for (const auto &[kind, name] : e.names)
                std::printf("%-40s %-12s %s\n", e.hf_name.c_str(), kind.c_str(), name.c_str());
    });
}

}  // namespace difr::app
