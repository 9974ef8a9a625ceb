#include "difr/npz.h"

#include <zip.h>

#include <cstring>
#include <memory>
#include <regex>

#include "difr/error.h"
#include "difr/halfprec.h"

namespace difr {

namespace {

struct ZipCloser {
    void operator()(zip_t *z) const { zip_discard(z); }
};
struct ZipFileCloser {
    void operator()(zip_file_t *f) const { zip_fclose(f); }
};

int64_t dtype_itemsize(const std::string &descr) {
    // '<' little-endian, '|' not applicable (1 byte), '=' native (little-endian on every host difr runs on)
    static const std::regex re("^[<|=]([biuf])([1248])$");
    std::smatch m;
    if (!std::regex_match(descr, m, re)) return 0;
    return std::stoll(m[2].str());
}

// The header is a Python dict literal; numpy writes exactly three keys, in a fixed form.
void header_parse(const std::string &h, NpyArray &a, const std::string &where) {
    std::smatch m;
    static const std::regex descr("'descr'\\s*:\\s*'([^']*)'");
    static const std::regex fortran("'fortran_order'\\s*:\\s*(True|False)");
    static const std::regex shape("'shape'\\s*:\\s*\\(([^)]*)\\)");
    if (!std::regex_search(h, m, descr)) throw InputError(where + ": .npy header has no 'descr'");
    a.descr = m[1].str();
    if (!std::regex_search(h, m, fortran)) throw InputError(where + ": .npy header has no 'fortran_order'");
    if (m[1].str() == "True")
        throw InputError(where + ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
    if (!std::regex_search(h, m, shape)) throw InputError(where + ": .npy header has no 'shape'");
    const std::string dims = m[1].str();
    static const std::regex num("\\s*(\\d+)\\s*(,|$)");
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
        a.shape.push_back(std::stoll((*it)[1].str()));
    if (dtype_itemsize(a.descr) == 0)
        throw InputError(
            where + ": dtype '" + a.descr +
            "' is not a little-endian integer or float (big-endian and object arrays are not read)");
}

}  // namespace

int64_t NpyArray::size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<NpyArray> npz_read(const std::string &path) {
    int err = 0;
    std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY, &err));
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        const std::string msg = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        throw InputError("cannot read .npz file '" + path + "': " + msg);
    }
    std::vector<NpyArray> out;
    const zip_int64_t n = zip_get_num_entries(z.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
        zip_stat_t st;
        if (zip_stat_index(z.get(), zip_uint64_t(i), 0, &st) != 0)
            throw InputError(path + ": unreadable zip entry");
        const std::string entry = st.name;
        const std::string where = path + ": entry '" + entry + "'";
        if (entry.size() < 5 || entry.compare(entry.size() - 4, 4, ".npy") != 0)
            throw InputError(where + " is not a .npy array");
        std::unique_ptr<zip_file_t, ZipFileCloser> f(zip_fopen_index(z.get(), zip_uint64_t(i), 0));
        if (!f) throw InputError(where + ": " + zip_strerror(z.get()));
        // The size the archive claims is not trusted for the allocation: a 500-byte file claiming a 4 GiB
        // entry made this allocate 4 GiB (found by fuzz_npz). The buffer grows with the data actually
        // decompressed.
        std::vector<uint8_t> bytes;
        uint8_t chunk[1 << 16];
        for (;;) {
            const zip_int64_t r = zip_fread(f.get(), chunk, sizeof chunk);
            if (r < 0) throw InputError(where + ": cannot decompress (" + zip_strerror(z.get()) + ")");
            if (r == 0) break;
            bytes.insert(bytes.end(), chunk, chunk + r);
            if (bytes.size() > st.size) break;
        }
        if (bytes.size() != st.size)
            throw InputError(where + ": the entry holds " + (bytes.size() > st.size ? "more" : "fewer") +
                             " bytes than the archive says (" + std::to_string(st.size) + ")");
        if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
            throw InputError(where + ": not a .npy array (no \\x93NUMPY magic)");
        const int major = bytes[6];
        size_t header_len = 0, offset = 0;
        if (major == 1) {
            header_len = size_t(bytes[8]) | (size_t(bytes[9]) << 8);
            offset = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.size() < 12) throw InputError(where + ": truncated .npy header");
            header_len = size_t(bytes[8]) | (size_t(bytes[9]) << 8) | (size_t(bytes[10]) << 16) |
                         (size_t(bytes[11]) << 24);
            offset = 12;
        } else {
            throw InputError(where + ": .npy format version " + std::to_string(major) + " is not supported");
        }
        if (offset + header_len > bytes.size()) throw InputError(where + ": truncated .npy header");
        NpyArray a;
        a.name = entry.substr(0, entry.size() - 4);
        header_parse(std::string(bytes.begin() + offset, bytes.begin() + offset + header_len), a, where);
        const size_t data_at = offset + header_len;
        const size_t want = size_t(a.size()) * size_t(dtype_itemsize(a.descr));
        if (bytes.size() - data_at != want)
            throw InputError(where + ": shape and dtype need " + std::to_string(want) +
                             " bytes of data, it has " + std::to_string(bytes.size() - data_at));
        a.data.assign(bytes.begin() + data_at, bytes.end());
        out.push_back(std::move(a));
    }
    return out;
}

void npz_write(const std::string &path, const std::vector<NpyArray> &arrays) {
    int err = 0;
    zip_t *z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) throw InputError("cannot create .npz file '" + path + "'");
    std::vector<std::string> blobs;  // libzip reads the buffers at zip_close
    blobs.reserve(arrays.size());
    for (const NpyArray &a : arrays) {
        std::string shape;  // Python's tuple: (5, 16), (5,) or ()
        for (size_t d = 0; d < a.shape.size(); ++d) shape += (d ? ", " : "") + std::to_string(a.shape[d]);
        if (a.shape.size() == 1) shape += ",";
        std::string header =
            "{'descr': '" + a.descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // numpy pads to 64 bytes, newline last
        header += '\n';
        std::string blob = std::string("\x93NUMPY\x01\x00", 8);
        blob += char(header.size() & 0xFF);
        blob += char(header.size() >> 8);
        blob += header;
        blob.append(reinterpret_cast<const char *>(a.data.data()), a.data.size());
        blobs.push_back(std::move(blob));
        zip_source_t *src = zip_source_buffer(z, blobs.back().data(), blobs.back().size(), 0);
        if (!src || zip_file_add(z, (a.name + ".npy").c_str(), src, ZIP_FL_OVERWRITE) < 0) {
            if (src) zip_source_free(src);
            zip_discard(z);
            throw InputError("cannot add '" + a.name + "' to '" + path + "'");
        }
        zip_set_file_compression(z, zip_get_num_entries(z, 0) - 1, ZIP_CM_STORE, 0);
    }
    if (zip_close(z) != 0) {
        const std::string msg = zip_strerror(z);
        zip_discard(z);
        throw InputError("cannot write .npz file '" + path + "': " + msg);
    }
}

std::vector<std::vector<uint16_t>> npz_activations_bf16(const std::string &path) {
    const std::vector<NpyArray> arrays = npz_read(path);
    if (arrays.empty()) throw InputError(path + ": holds no arrays (expected a0, a1, ...)");
    std::vector<const NpyArray *> by_index(arrays.size(), nullptr);
    for (const NpyArray &a : arrays) {
        static const std::regex name("^a(0|[1-9][0-9]*)$");
        if (!std::regex_match(a.name, name) || std::stoull(a.name.substr(1)) >= arrays.size())
            throw InputError(path + ": array '" + a.name + "': activations must be named a0 .. a" +
                             std::to_string(arrays.size() - 1) + " (one per entry, in order)");
        by_index[std::stoull(a.name.substr(1))] = &a;
    }
    std::vector<std::vector<uint16_t>> out;
    for (size_t i = 0; i < by_index.size(); ++i) {
        const NpyArray *a = by_index[i];
        if (!a) throw InputError(path + ": array a" + std::to_string(i) + " is missing");
        const std::string where = path + ": array '" + a->name + "'";
        if (a->size() == 0) throw InputError(where + " is empty");
        std::vector<uint16_t> v(size_t(a->size()));
        if (a->descr == "<u2" || a->descr == "=u2") {
            for (size_t j = 0; j < v.size(); ++j) v[j] = uint16_t(a->data[2 * j] | (a->data[2 * j + 1] << 8));
        } else if (a->descr == "<f4" || a->descr == "=f4") {
            for (size_t j = 0; j < v.size(); ++j) {
                float f;
                std::memcpy(&f, &a->data[4 * j], 4);
                v[j] = bf16_from_float(f);  // torch's .to(torch.bfloat16): round to nearest even
            }
        } else {
            throw InputError(where + ": dtype '" + a->descr +
                             "' (activations are uint16 holding bf16 bits, or float32 rounded to bf16)");
        }
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace difr
