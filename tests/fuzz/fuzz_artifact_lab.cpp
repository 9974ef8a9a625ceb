// Artifact lab files (TOML, `difr lab` with scenarios of provers), read by artifact_lab_read.
#include "difr/error.h"
#include "difr/lab_artifacts.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string path = fuzz::fuzz_file(data, size, "artifacts.toml");
    fuzz::fuzz_expect<InputError>(path, [&] { artifact_lab_read(path); });
    return 0;
}
