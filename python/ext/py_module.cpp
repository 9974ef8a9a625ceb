// The native half of the difr_llm package (python/difr_llm, docs/python.md): difr's library behind a small
// private module, _difr. The token-difr-shaped API is Python around it.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <climits>

#include "difr/error.h"
#include "difr/http.h"
#include "difr/model_cache.h"
#include "difr/noise.h"
#include "difr/registry.h"
#include "py_bindings.h"
#include "py_common.h"

namespace difr::py {

nb::ndarray<nb::numpy, bool, nb::ndim<1>> numpy_bools(std::vector<uint8_t> &&v) {
    auto *owned = new std::vector<uint8_t>(std::move(v));
    nb::capsule owner(owned, [](void *p) noexcept { delete static_cast<std::vector<uint8_t> *>(p); });
    return nb::ndarray<nb::numpy, bool, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

namespace {

std::string py_type_name(nb::handle h) {
    return nb::type_name(h.type()).c_str();
}

std::vector<int32_t> ids_from_python(nb::handle ids, size_t seq, const char *part) {
    const std::string where = "sequence " + std::to_string(seq) + ", " + part;
    nb::object fast = nb::steal(PySequence_Fast(ids.ptr(), ""));
    if (!fast.is_valid()) {
        PyErr_Clear();
        throw nb::type_error(
            (where + " token ids: expected a list of integers, got " + py_type_name(ids)).c_str());
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast.ptr());
    PyObject **items = PySequence_Fast_ITEMS(fast.ptr());
    std::vector<int32_t> out((size_t)n);
    for (Py_ssize_t k = 0; k < n; ++k) {
        const std::string at = where + " position " + std::to_string(k);
        nb::object index = nb::steal(PyNumber_Index(items[k]));
        if (!index.is_valid()) {
            PyErr_Clear();
            throw nb::type_error((at + ": a token id must be an integer, got " + py_type_name(items[k]) +
                                  " " + nb::repr(nb::handle(items[k])).c_str())
                                     .c_str());
        }
        int overflow = 0;
        const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
        if (overflow != 0 || v < INT32_MIN || v > INT32_MAX)
            throw InputError(at + ": token id " + nb::str(index).c_str() +
                             " is outside any vocabulary (not a 32-bit id)");
        out[(size_t)k] = (int32_t)v;
    }
    return out;
}

nb::object field(nb::handle item, const char *name, size_t seq) {
    if (nb::hasattr(item, name)) return nb::getattr(item, name);
    if (PyMapping_Check(item.ptr()) && !PySequence_Check(item.ptr())) {
        nb::object v = nb::steal(PyMapping_GetItemString(item.ptr(), name));
        if (v.is_valid()) return v;
        PyErr_Clear();
        throw InputError("sequence " + std::to_string(seq) + ": the dict has no \"" + name + "\"");
    }
    throw nb::type_error(
        ("sequence " + std::to_string(seq) +
         ": expected a TokenSequence (or a dict with prompt_token_ids and output_token_ids), "
         "got " +
         py_type_name(item))
            .c_str());
}

}  // namespace

std::vector<TokenSequence> sequences_from_python(nb::handle outputs) {
    nb::object fast = nb::steal(PySequence_Fast(outputs.ptr(), ""));
    if (!fast.is_valid()) {
        PyErr_Clear();
        throw nb::type_error(
            ("outputs: expected a list of TokenSequence, got " + py_type_name(outputs)).c_str());
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast.ptr());
    PyObject **items = PySequence_Fast_ITEMS(fast.ptr());
    std::vector<TokenSequence> seqs((size_t)n);
    for (Py_ssize_t i = 0; i < n; ++i) {
        nb::handle item(items[i]);
        seqs[(size_t)i].prompt_token_ids =
            ids_from_python(field(item, "prompt_token_ids", (size_t)i), (size_t)i, "prompt");
        seqs[(size_t)i].output_token_ids =
            ids_from_python(field(item, "output_token_ids", (size_t)i), (size_t)i, "output");
    }
    return seqs;
}

std::vector<ChatMessage> messages_from_python(nb::handle messages, const std::string &where) {
    nb::object fast = nb::steal(PySequence_Fast(messages.ptr(), ""));
    if (!fast.is_valid() || PyUnicode_Check(messages.ptr())) {
        PyErr_Clear();
        throw nb::type_error(
            (where + ": expected a list of {\"role\", \"content\"} messages, got " + py_type_name(messages))
                .c_str());
    }
    std::vector<ChatMessage> out;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast.ptr());
    for (Py_ssize_t k = 0; k < n; ++k) {
        nb::handle m(PySequence_Fast_GET_ITEM(fast.ptr(), k));
        const std::string at = where + ", message " + std::to_string(k);
        if (!PyDict_Check(m.ptr()))
            throw nb::type_error((at + ": expected a dict, got " + py_type_name(m)).c_str());
        nb::dict d = nb::borrow<nb::dict>(m);
        ChatMessage msg;
        for (const char *key : {"role", "content"}) {
            if (!d.contains(key)) throw InputError(at + ": no \"" + key + "\"");
            nb::handle v = d[key];
            std::string text;
            if (v.is_none() && std::string(key) == "content")
                text = "";  // an empty turn, filtered like token-difr's
            else if (!nb::try_cast<std::string>(v, text))
                throw nb::type_error(
                    (at + ": \"" + key + "\" must be a string, got " + py_type_name(v)).c_str());
            (std::string(key) == "role" ? msg.role : msg.content) = std::move(text);
        }
        out.push_back(std::move(msg));
    }
    return out;
}

nb::list messages_to_python(const std::vector<ChatMessage> &messages) {
    nb::list out;
    for (const ChatMessage &m : messages) {
        nb::dict d;
        d["role"] = m.role;
        d["content"] = m.content;
        out.append(d);
    }
    return out;
}

nb::object json_to_python(const std::string &text) {
    return nb::module_::import_("json").attr("loads")(text);
}

}  // namespace difr::py

NB_MODULE(_difr, m) {
    namespace nb = nanobind;
    using namespace difr;
    m.doc() = "difr's native library; use the difr_llm package, not this module";

    // InputError is bad input (a ValueError); RemoteError an endpoint that failed or answered nonsense.
    nb::exception<InputError>(m, "InputError", PyExc_ValueError);
    nb::exception<RemoteError>(m, "RemoteError", PyExc_RuntimeError);

    m.def("cache_dir", &cache_dir, "$DIFR_CACHE, else $XDG_CACHE_HOME/difr, else ~/.cache/difr");
    m.def("models_dir", &models_dir, "where cached models live");
    m.def("model_resolve", &model_resolve, nb::arg("name_or_path"),
          "a path as given, or a model name in the cache; '' is the embedded model");
    m.attr("EMBEDDED_MODEL") = kEmbeddedModel;

    m.def(
        "noise_profile_check",
        [](const std::string &name) {
            if (!noise_profile_from_name(name)) throw InputError("unknown noise profile '" + name + "'");
            return std::string(noise_profile_name(*noise_profile_from_name(name)));
        },
        nb::arg("name"), "the canonical name of a noise profile; InputError for an unknown one");

    m.def(
        "noise_profiles",
        [] {
            std::vector<std::pair<std::string, std::string>> out;
            for (NoiseProfile p : kNoiseProfiles)
                out.emplace_back(std::string(noise_profile_name(p)), std::string(noise_profile_covers(p)));
            return out;
        },
        "every noise profile this build knows: [(name, what it reproduces), ...]");

    m.def("registry_builtin_path", &registry_builtin_path, "data/registry.json of the source tree");
    m.def(
        "registry_read",
        [](const std::vector<std::string> &files) {
            Registry r;
            for (const std::string &f : files) r.merge_file(f);
            std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> out;
            for (const RegistryEntry &e : r.entries())
                out.emplace_back(e.hf_name, std::vector<std::pair<std::string, std::string>>(e.names.begin(),
                                                                                             e.names.end()));
            return out;
        },
        nb::arg("files"), "entries of registry files merged in order: [(hf_name, [(kind, name), ...]), ...]");
    m.def("registry_guess_fireworks", &registry_guess_fireworks, nb::arg("hf_name"));

    difr::py::register_metrics(m);
    difr::py::register_engine(m);
    difr::py::register_remote(m);
    difr::py::register_proofs(m);
}
