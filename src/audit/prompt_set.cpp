#include "difr/prompt_set.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/results.h"

namespace difr {

namespace {

using json = nlohmann::json;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    return s;
}

// ShareGPT dumps name the speakers in several ways; the chat template only knows these three.
std::string role_map(const std::string &role) {
    const std::string r = lower(role);
    if (r == "user" || r == "human") return "user";
    if (r == "assistant" || r == "gpt" || r == "chatgpt" || r == "bard" || r == "bing" || r == "model")
        return "assistant";
    if (r == "system") return "system";
    return "";
}

PromptRecord record_parse(const json &v, const std::string &where) {
    if (!v.is_object()) throw InputError(where + ": expected an object holding a conversation");
    const char *list_key = nullptr;
    for (const char *k : {"conversations", "conversation", "messages"})
        if (v.contains(k)) {
            list_key = k;
            break;
        }
    if (!list_key)
        throw InputError(where +
                         ": no conversation: expected \"conversations\" (ShareGPT), \"conversation\" "
                         "(LMSYS, WildChat) or \"messages\"");
    const json &list = v[list_key];
    if (!list.is_array()) throw InputError(where + ": \"" + list_key + "\" must be a list of messages");
    PromptRecord rec;
    rec.where = where;
    for (const char *k : {"language", "lang"})
        if (v.contains(k) && v[k].is_string()) {
            rec.language = v[k].get<std::string>();
            break;
        }
    for (size_t i = 0; i < list.size(); ++i) {
        const json &m = list[i];
        const std::string at = where + ", " + list_key + "[" + std::to_string(i) + "]";
        if (!m.is_object()) throw InputError(at + ": expected a message object");
        const bool sharegpt = m.contains("from");
        const char *role_key = sharegpt ? "from" : "role";
        const char *text_key = sharegpt ? "value" : "content";
        if (!m.contains(role_key) || !m[role_key].is_string())
            throw InputError(at + ": needs a string \"" + role_key + "\"");
        if (!m.contains(text_key) || !(m[text_key].is_string() || m[text_key].is_null()))
            throw InputError(at + ": needs \"" + text_key + "\", a string");
        rec.messages.push_back({role_map(m[role_key].get<std::string>()),
                                m[text_key].is_null() ? "" : m[text_key].get<std::string>()});
    }
    return rec;
}

bool blank(const std::string &s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

std::vector<PromptRecord> prompt_records_read(const std::string &path) {
    return prompt_records_parse(file_read_text(path, "conversations file"), path);
}

std::vector<PromptRecord> prompt_records_parse(const std::string &text, const std::string &path) {
    std::vector<PromptRecord> out;
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) throw InputError(path + ": empty file");
    if (text[first] == '[') {
        const json doc = json_parse_located(text, path);
        for (size_t i = 0; i < doc.size(); ++i)
            out.push_back(record_parse(doc[i], path + ": entry " + std::to_string(i)));
        return out;
    }
    jsonl_for_each(text, path,
                   [&](const json &v, const std::string &where) { out.push_back(record_parse(v, where)); });
    return out;
}

std::string PromptSetStats::describe() const {
    std::ostringstream o;
    o << "read " << read << ", kept " << kept << "; dropped: not English " << not_english << ", unknown role "
      << unknown_role << ", no user turn " << no_user_turn << ", empty turn " << empty_turn << ", too long "
      << too_long << ", duplicate " << duplicate << ", template error " << template_error;
    return o.str();
}

std::vector<std::vector<ChatMessage>> prompt_set_build(const std::vector<PromptRecord> &records,
                                                       const PromptSetOptions &options,
                                                       const ChatTokenizer &tokenize, PromptSetStats &stats) {
    std::vector<size_t> order(records.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (options.shuffle_seed) {
        // Fisher-Yates on mt19937_64's raw output (fixed by the standard, unlike std::shuffle's use of
        // distributions), so a seed picks the same prompts on every platform.
        std::mt19937_64 rng(*options.shuffle_seed);
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    }
    stats = PromptSetStats{};
    std::vector<std::vector<ChatMessage>> out;
    std::set<std::vector<int32_t>> seen;
    for (size_t idx : order) {
        if (options.limit > 0 && out.size() >= options.limit) break;
        const PromptRecord &rec = records[idx];
        ++stats.read;
        if (options.english_only && rec.language) {
            const std::string lang = lower(*rec.language);
            if (lang != "english" && lang != "en") {
                ++stats.not_english;
                continue;
            }
        }
        std::vector<ChatMessage> conv = rec.messages;
        if (std::any_of(conv.begin(), conv.end(), [](const ChatMessage &m) { return m.role.empty(); })) {
            ++stats.unknown_role;
            continue;
        }
        while (!conv.empty() && conv.back().role == "assistant") conv.pop_back();
        if (conv.empty() || conv.back().role != "user") {
            ++stats.no_user_turn;
            continue;
        }
        if (std::any_of(conv.begin(), conv.end(), [](const ChatMessage &m) { return blank(m.content); })) {
            ++stats.empty_turn;
            continue;
        }
        if (!options.system.empty() && conv.front().role != "system")
            conv.insert(conv.begin(), ChatMessage{"system", options.system});
        std::vector<int32_t> tokens;
        try {
            tokens = tokenize(conv);
        } catch (const std::exception &) {
            ++stats.template_error;
            continue;
        }
        if (options.max_tokens > 0 && (int64_t)tokens.size() > options.max_tokens) {
            ++stats.too_long;
            continue;
        }
        if (!seen.insert(tokens).second) {
            ++stats.duplicate;
            continue;
        }
        out.push_back(std::move(conv));
        ++stats.kept;
    }
    return out;
}

void prompt_set_write(const std::string &path, const std::vector<std::vector<ChatMessage>> &conversations) {
    std::string text;
    for (const auto &conv : conversations) {
        nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
        for (const ChatMessage &m : conv) msgs.push_back({{"role", m.role}, {"content", m.content}});
        // Invalid UTF-8 in a dataset becomes U+FFFD rather than aborting the whole set.
        text += nlohmann::ordered_json{{"messages", msgs}}.dump(
            -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        text += "\n";
    }
    file_write_atomic(path, text);
}

}  // namespace difr
