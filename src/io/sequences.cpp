#include "difr/sequences.h"

#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"

namespace difr {

namespace {

using json = nlohmann::json;

std::vector<int32_t> token_ids(const json &v, const std::string &where) {
    if (!v.is_array()) throw InputError(where + " must be an array of token ids");
    std::vector<int32_t> ids;
    ids.reserve(v.size());
    for (size_t k = 0; k < v.size(); ++k) {
        const json &t = v[k];
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
            throw InputError(where + "[" + std::to_string(k) + "] is " + t.dump() +
                             ", not a non-negative integer token id");
        ids.push_back((int32_t)t.get<int64_t>());
    }
    return ids;
}

const json &field(const json &obj, const char *name, const std::string &where) {
    if (!obj.is_object()) throw InputError(where + " must be a JSON object");
    auto it = obj.find(name);
    if (it == obj.end()) throw InputError(where + " has no \"" + name + "\" field");
    return *it;
}

}  // namespace

std::string text_line_col(const std::string &text, size_t byte) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

SequenceFile sequences_read(const std::string &path) {
    return sequences_parse(file_read_text(path), path);
}

SequenceFile sequences_parse(const std::string &text, const std::string &path) {
    const json doc = json_parse_located(text, path);

    SequenceFile file;
    if (doc.is_array()) {
        file.format = SequenceFormat::token_difr;
        for (size_t i = 0; i < doc.size(); ++i) {
            const std::string where = path + ": sequence " + std::to_string(i);
            TokenSequence s;
            s.prompt_token_ids =
                token_ids(field(doc[i], "prompt_token_ids", where), where + ".prompt_token_ids");
            s.output_token_ids =
                token_ids(field(doc[i], "output_token_ids", where), where + ".output_token_ids");
            file.sequences.push_back(std::move(s));
        }
    } else if (doc.is_object() && doc.contains("samples")) {
        file.format = SequenceFormat::vllm;
        if (doc.contains("config")) file.config_json = doc["config"].dump();
        const json &samples = doc["samples"];
        if (!samples.is_array()) throw InputError(path + ": \"samples\" must be an array");
        for (size_t i = 0; i < samples.size(); ++i) {
            const std::string where = path + ": sample " + std::to_string(i);
            const std::vector<int32_t> prompt =
                token_ids(field(samples[i], "prompt_token_ids", where), where + ".prompt_token_ids");
            const json &outputs = field(samples[i], "outputs", where);
            if (!outputs.is_array()) throw InputError(where + ".outputs must be an array");
            // Each output of a sample is its own sequence (vLLM's n > 1).
            for (size_t o = 0; o < outputs.size(); ++o) {
                const std::string ow = where + ".outputs[" + std::to_string(o) + "]";
                file.sequences.push_back(
                    {prompt, token_ids(field(outputs[o], "token_ids", ow), ow + ".token_ids")});
            }
        }
    } else {
        throw InputError(
            path +
            ": expected a token-difr sequence list [{\"prompt_token_ids\": ..., \"output_token_ids\": "
            "...}] or a vLLM-style object {\"samples\": [...]}");
    }
    return file;
}

void sequences_write(const std::string &path, const std::vector<TokenSequence> &seqs, SequenceFormat format,
                     const std::string &config_json, const std::vector<std::string> &output_texts) {
    using ojson = nlohmann::ordered_json;
    ojson doc;
    if (format == SequenceFormat::token_difr) {
        doc = ojson::array();
        for (size_t i = 0; i < seqs.size(); ++i) {
            ojson e = {{"prompt_token_ids", seqs[i].prompt_token_ids},
                       {"output_token_ids", seqs[i].output_token_ids}};
            if (i < output_texts.size()) e["output_text"] = output_texts[i];
            doc.push_back(std::move(e));
        }
    } else {
        doc["config"] = ojson::parse(config_json);
        doc["samples"] = ojson::array();
        for (size_t i = 0; i < seqs.size(); ++i) {
            ojson out = {{"token_ids", seqs[i].output_token_ids}};
            if (i < output_texts.size()) out["text"] = output_texts[i];
            doc["samples"].push_back({{"prompt_token_ids", seqs[i].prompt_token_ids}, {"outputs", {out}}});
        }
    }
    // Decoded text can end inside a multi-byte character; replace rather than fail.
    file_write_atomic(path, doc.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n");
}

}  // namespace difr
