// The model cache: where scripts/deps.sh puts the embedded models and where a model given by name is found.
// Shared by the command line and the Python package, so a name means the same file to both.
#pragma once

#include <string>

namespace difr {

// The embedded model (scripts/models.tsv), used when no model is named.
inline constexpr const char *kEmbeddedModel = "smollm2-135m-instruct-q4_1";

// $DIFR_CACHE, else $XDG_CACHE_HOME/difr, else ~/.cache/difr.
std::string cache_dir();
// cache_dir() + "/models".
std::string models_dir();
// A path as given, or a name in the cache ("smollm2-135m-instruct-q4_1" or its file name); empty: the
// embedded model. Throws InputError saying where it looked and how to fetch the embedded models.
std::string model_resolve(const std::string &name_or_path);

}  // namespace difr
