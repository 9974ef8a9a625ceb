// Model registry files (--registry, $DIFR_REGISTRY): {"models": [{"hf": ..., "<kind>": ...}]}.
#include "difr/error.h"
#include "difr/registry.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz-registry.json";
    Registry r;
    if (!fuzz::fuzz_expect<InputError>(source, [&] { r.merge_text(fuzz::fuzz_text(data, size), source); }))
        return 0;
    for (const RegistryEntry &e : r.entries()) {
        if (e.hf_name.empty()) fuzz::fuzz_fail("an entry without an hf name was accepted");
        // An entry may lack a provider's name (data/registry.json has some): that lookup is an InputError
        // about the model, not the file.
        fuzz::fuzz_expect<InputError>("", [&] { r.lookup(e.hf_name, kRegistryFireworks); });
    }
    return 0;
}
