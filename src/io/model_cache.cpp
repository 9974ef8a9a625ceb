#include "difr/model_cache.h"

#include <cstdlib>
#include <filesystem>

#include "difr/error.h"

namespace difr {

std::string cache_dir() {
    if (const char *d = std::getenv("DIFR_CACHE"); d && *d) return d;
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/difr";
    const char *home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.cache/difr";
}

std::string models_dir() {
    return cache_dir() + "/models";
}

std::string model_resolve(const std::string &name_or_path) {
    const std::string name = name_or_path.empty() ? kEmbeddedModel : name_or_path;
    if (std::filesystem::exists(name)) return name;
    for (const std::string &candidate : {models_dir() + "/" + name, models_dir() + "/" + name + ".gguf"})
        if (std::filesystem::exists(candidate)) return candidate;
    throw InputError("model '" + name + "' is neither a file nor a cached model in " + models_dir() +
                     " (run scripts/deps.sh to fetch the embedded models; `difr models` lists them)");
}

}  // namespace difr
