// difr models: what is in the model cache, where, and whether it is what the manifest promises.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app.h"
#include "difr/results.h"

namespace difr::app {

namespace {

// name -> sha256, from scripts/models.tsv (the same manifest scripts/deps.sh downloads by).
std::map<std::string, std::string> manifest() {
    std::map<std::string, std::string> out;
    std::ifstream in(DIFR_MODELS_TSV);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ss(line);
        std::string name, req, member, sha;
        std::getline(ss, name, '\t');
        std::getline(ss, req, '\t');
        std::getline(ss, member, '\t');
        std::getline(ss, sha, '\t');
        out[name] = sha;
    }
    return out;
}

}  // namespace

void register_models(CLI::App &app) {
    auto verify = std::make_shared<bool>(false);
    CLI::App *cmd = app.add_subcommand("models", "list the cached models and where they are");
    cmd->add_flag("--verify", *verify, "check each file's sha256 against the manifest");
    cmd->callback([verify] {
        const std::string dir = models_dir();
        std::printf("model cache: %s\n", dir.c_str());
        if (!std::filesystem::is_directory(dir)) {
            std::printf("  (empty: run scripts/deps.sh to fetch the embedded models)\n");
            return;
        }
        const auto known = manifest();
        std::vector<std::filesystem::path> files;
        for (const auto &e : std::filesystem::recursive_directory_iterator(dir))
            if (e.is_regular_file() && e.path().extension() == ".gguf") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto &f : files) {
            const std::string name = f.stem().string();
            const double mib = (double)std::filesystem::file_size(f) / (1024.0 * 1024.0);
            std::string status = known.count(name) ? "embedded" : "derived";
            if (*verify && known.count(name))
                status = file_sha256(f.string()) == known.at(name) ? "embedded, sha256 ok"
                                                                   : "embedded, SHA256 MISMATCH";
            std::printf("  %-40s %8.1f MiB  %-22s %s\n", name.c_str(), mib, status.c_str(),
                        f.string().c_str());
        }
        for (const auto &[name, sha] : known)
            if (!std::filesystem::exists(dir + "/" + name + ".gguf"))
                std::printf("  %-40s  missing (run scripts/deps.sh)\n", name.c_str());
    });
}

}  // namespace difr::app
