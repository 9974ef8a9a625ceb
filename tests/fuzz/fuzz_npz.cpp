// .npz archives of activations (`difr toploc --activations`): a zip of .npy arrays, read by npz_read (libzip
// and difr's .npy header parser) and npz_activations_bf16.
#include "difr/error.h"
#include "difr/npz.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string path = fuzz::fuzz_file(data, size, "activations.npz");
    std::vector<NpyArray> arrays;
    if (!fuzz::fuzz_expect<InputError>(path, [&] { arrays = npz_read(path); })) return 0;
    for (const NpyArray &a : arrays) {
        for (int64_t d : a.shape)
            if (d < 0) fuzz::fuzz_fail("an array with a negative dimension was accepted");
    }
    fuzz::fuzz_expect<InputError>(path, [&] { npz_activations_bf16(path); });
    return 0;
}
