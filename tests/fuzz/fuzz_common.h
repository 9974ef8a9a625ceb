// Shared by the libFuzzer targets (docs/hardening.md). Each target feeds one parser of untrusted input and
// holds it to difr's contract for bad input: the parser returns, or throws the one error type its caller
// turns into a clear message and exit status (InputError: 2, RemoteError: 4), and that message names where
// the input came from. Anything else (another exception, a crash, a sanitizer report, a hang) is a bug the
// fuzzer reports.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

namespace difr::fuzz {

[[noreturn]] inline void fuzz_fail(const std::string &what) {
    std::fprintf(stderr, "difr fuzz: contract broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

// Runs fn(); an exception of type Allowed whose message contains `source` is the expected outcome of bad
// input. Returns true when fn returned normally.
template <class Allowed, class Fn>
bool fuzz_expect(const std::string &source, Fn &&fn) {
    try {
        fn();
        return true;
    } catch (const Allowed &e) {
        if (std::string(e.what()).find(source) == std::string::npos)
            fuzz_fail(std::string("an error that does not name its source '") + source + "': " + e.what());
        return false;
    } catch (const std::exception &e) {
        fuzz_fail(std::string("unexpected ") + typeid(e).name() + ": " + e.what());
    }
}

inline std::string fuzz_text(const uint8_t *data, size_t size) {
    return std::string(reinterpret_cast<const char *>(data), size);
}

// For parsers that take a path (artifacts, npz, fingerprint files, lab TOML): the input written to a file in
// memory (/dev/shm where there is one), the same path on every run of one process. Returns the path.
inline std::string fuzz_file(const uint8_t *data, size_t size, const std::string &name) {
    static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    const std::string path = dir + "/difr-fuzz-" + std::to_string(getpid()) + "-" + name;
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) fuzz_fail("cannot write " + path);
    if (size > 0 && std::fwrite(data, 1, size, f) != size) fuzz_fail("cannot write " + path);
    std::fclose(f);
    return path;
}

}  // namespace difr::fuzz
