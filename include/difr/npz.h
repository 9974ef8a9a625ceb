// NumPy's .npz archives (a zip of .npy files, as numpy.savez and savez_compressed write them), for activation
// files that other provers hand to `difr toploc`. The zip layer is libzip; the .npy header is parsed here
// (format versions 1 to 3, little-endian data, C order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace difr {

struct NpyArray {
    std::string name;            // the entry's name without ".npy" ("a0")
    std::string descr;           // numpy's dtype string: "<u2", "<f4", ...
    std::vector<int64_t> shape;  // () for a scalar
    std::vector<uint8_t> data;   // the raw little-endian elements, C order
    int64_t size() const;        // number of elements
};

// Reads every array of an .npz file, in archive order. Throws InputError naming the file and the entry for a
// file that is not a zip, an entry that is not .npy, a malformed header, Fortran order, a big-endian dtype,
// or data shorter than the header says.
std::vector<NpyArray> npz_read(const std::string &path);

// TOPLOC activations (`difr toploc --activations`): arrays a0, a1, ... in order, each flattened, dtype uint16
// (bf16 bits) or float32 (rounded to bf16 to nearest even, as torch's .to(torch.bfloat16)). Throws InputError
// naming the file and array for another name, a gap, another dtype or an empty array.
std::vector<std::vector<uint16_t>> npz_activations_bf16(const std::string &path);

// Writes arrays as an uncompressed .npz (numpy.savez's layout; format version 1.0 headers). For tests and
// tools. Throws InputError naming the file.
void npz_write(const std::string &path, const std::vector<NpyArray> &arrays);

}  // namespace difr
