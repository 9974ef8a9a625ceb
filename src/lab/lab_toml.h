// The TOML reader shared by the lab files (detection and activation-proof labs, lab_file.cpp; artifact labs,
// lab_artifacts.cpp). Every value is checked for its type and every integer for its range, and an error is
// an InputError naming the file and the key, so that a typo or a wrong type never silently becomes a default.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>

#include "difr/error.h"

namespace difr {

class LabTomlReader {
public:
    explicit LabTomlReader(std::string path) : path_(std::move(path)) {}

    const std::string &path() const { return path_; }

    // The file's text parsed; a syntax error names the file, line and column.
    toml::table parse(const std::string &text) const;

    [[noreturn]] void fail(const std::string &key, const std::string &what) const {
        throw InputError(path_ + ": key '" + key + "': " + what);
    }

    // Fails on a key of T that ALLOWED does not hold, listing the ones that are known there.
    void keys_check(const toml::table &t, const std::string &where,
                    const std::set<std::string> &allowed) const;

    // The value at T[KEY] (absent: nullopt); WHERE prefixes KEY in errors ("configs[2].").
    std::optional<std::string> str(const toml::table &t, const std::string &where,
                                   const std::string &key) const;
    std::optional<double> number(const toml::table &t, const std::string &where,
                                 const std::string &key) const;
    std::optional<bool> boolean(const toml::table &t, const std::string &where, const std::string &key) const;
    template <class T = int64_t>
    std::optional<T> integer(const toml::table &t, const std::string &where, const std::string &key) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        return integer<T>(*n, where + key);
    }
    // A TOML integer within T's range. Not toml++'s value<int64_t>(), which also converts a float, and casts
    // an out-of-range one (k = -9.3e19) to an integer: undefined behaviour, found by fuzz_artifact_lab.
    template <class T>
    T integer(const toml::node &n, const std::string &key) const {
        const auto *v = n.as_integer();
        if (!v) fail(key, "expected an integer, got " + type_name(n));
        const int64_t x = v->get();
        if (x < int64_t(std::numeric_limits<T>::min()) || x > int64_t(std::numeric_limits<T>::max()))
            fail(key, std::to_string(x) + " is out of range (" +
                          std::to_string(std::numeric_limits<T>::min()) + " to " +
                          std::to_string(std::numeric_limits<T>::max()) + ")");
        return T(x);
    }

    // A count or size: an integer from 1 to 1000000.
    std::optional<int32_t> positive(const toml::table &t, const std::string &where,
                                    const std::string &key) const;

    template <class T>
    T required(std::optional<T> v, const std::string &key) const {
        if (!v) fail(key, "missing (required)");
        return *v;
    }

    // "a string", "an integer", ...: for errors that say what was found instead.
    static std::string type_name(const toml::node &n);

private:
    std::string path_;
};

}  // namespace difr
