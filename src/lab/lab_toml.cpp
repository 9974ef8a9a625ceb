// The lab files' TOML reader (lab_toml.h).
#include "lab_toml.h"

namespace difr {

toml::table LabTomlReader::parse(const std::string &text) const {
    try {
        return toml::parse(text, path_);
    } catch (const toml::parse_error &e) {
        throw InputError(path_ + ":" + std::to_string(e.source().begin.line) + ":" +
                         std::to_string(e.source().begin.column) +
                         ": TOML syntax error: " + std::string(e.description()));
    }
}

void LabTomlReader::keys_check(const toml::table &t, const std::string &where,
                               const std::set<std::string> &allowed) const {
    for (const auto &[k, v] : t) {
        const std::string key(k.str());
        if (!allowed.count(key)) {
            std::string known;
            for (const auto &a : allowed) known += (known.empty() ? "" : ", ") + a;
            fail(where + key, "unknown key (known here: " + known + ")");
        }
    }
}

std::optional<std::string> LabTomlReader::str(const toml::table &t, const std::string &where,
                                              const std::string &key) const {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(where + key, "expected a string, got " + type_name(*n));
    return n->value<std::string>();
}

std::optional<double> LabTomlReader::number(const toml::table &t, const std::string &where,
                                            const std::string &key) const {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_number()) fail(where + key, "expected a number, got " + type_name(*n));
    return n->value<double>();
}

std::optional<bool> LabTomlReader::boolean(const toml::table &t, const std::string &where,
                                           const std::string &key) const {
    const toml::node *n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(where + key, "expected true or false, got " + type_name(*n));
    return n->value<bool>();
}

std::optional<int32_t> LabTomlReader::positive(const toml::table &t, const std::string &where,
                                               const std::string &key) const {
    const std::optional<int64_t> v = integer(t, where, key);
    if (v && (*v < 1 || *v > 1000000))
        fail(where + key, std::to_string(*v) + " is out of range (1 to 1000000)");
    return v;
}

std::string LabTomlReader::type_name(const toml::node &n) {
    switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        default:
            return "a date or time";
    }
}

}  // namespace difr
