// Lab files (TOML): `difr lab FILE`.
#include "difr/error.h"
#include "difr/lab.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz-lab.toml";
    LabSpec spec;
    if (!fuzz::fuzz_expect<InputError>(source,
                                       [&] { spec = lab_spec_parse(fuzz::fuzz_text(data, size), source); }))
        return 0;
    if (spec.configs.empty()) fuzz::fuzz_fail("a lab without configurations was accepted");
    return 0;
}
