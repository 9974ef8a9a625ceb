// difr prompts' library side: reading ShareGPT, LMSYS/WildChat and difr shapes, and token-difr's filters
// (language, trailing assistant turns, empty turns, length, duplicates, limit, seeded shuffle). A fake
// tokenizer (one token per byte of "role:content|") makes lengths exact; the e2e test uses the real
// chat template.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/prompt_set.h"

namespace difr {
namespace {

std::vector<int32_t> fake_tokenize(const std::vector<ChatMessage> &conv) {
    std::vector<int32_t> t;
    for (const ChatMessage &m : conv)
        for (char c : m.role + ":" + m.content + "|") t.push_back((unsigned char)c);
    return t;
}

class PromptsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-prompts-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string &name, const std::string &text) {
        std::ofstream(dir_ + "/" + name) << text;
        return dir_ + "/" + name;
    }
    std::string dir_;
};

TEST_F(PromptsTest, ReadsTheThreeShapesAndMapsRoles) {
    const std::string path = write(
        "mixed.jsonl",
        R"({"id": "a", "conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]})"
        "\n\n"
        R"({"conversation": [{"role": "user", "content": "q", "turn": 1}], "language": "English"})"
        "\n"
        R"({"messages": [{"role": "user", "content": "m"}], "lang": "de"})"
        "\n");
    const auto recs = prompt_records_read(path);
    ASSERT_EQ(recs.size(), 3u);
    ASSERT_EQ(recs[0].messages.size(), 3u);
    EXPECT_EQ(recs[0].messages[0].role, "system");
    EXPECT_EQ(recs[0].messages[1].role, "user");
    EXPECT_EQ(recs[0].messages[2].role, "assistant");
    EXPECT_EQ(recs[0].messages[2].content, "yo");
    EXPECT_FALSE(recs[0].language.has_value());
    EXPECT_EQ(recs[1].language.value(), "English");
    EXPECT_EQ(recs[1].where, path + ":3");
    EXPECT_EQ(recs[2].language.value(), "de");
}

TEST_F(PromptsTest, ReadsAJsonArray) {
    const std::string path = write("a.json", R"([{"conversations": [{"from": "human", "value": "x"}]},
        {"conversation": [{"role": "user", "content": null}]}])");
    const auto recs = prompt_records_read(path);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[1].messages[0].content, "");  // null reads as an empty turn
    EXPECT_EQ(recs[1].where, path + ": entry 1");
}

TEST_F(PromptsTest, BadInputNamesFileAndLine) {
    auto message_of = [&](const std::string &text) {
        const std::string path = write("bad.jsonl", text);
        try {
            prompt_records_read(path);
        } catch (const InputError &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message_of("{\"messages\": []}\n{\"messages\": [}\n").find("bad.jsonl:2: malformed JSON"),
              std::string::npos);
    EXPECT_NE(message_of("{\"text\": \"hi\"}\n").find("bad.jsonl:1: no conversation"), std::string::npos);
    EXPECT_NE(message_of("{\"conversation\": \"hi\"}\n").find("bad.jsonl:1: \"conversation\" must be a list"),
              std::string::npos);
    EXPECT_NE(message_of("\n{\"conversations\": [{\"from\": \"human\", \"value\": 3}]}\n")
                  .find("bad.jsonl:2, conversations[0]: needs \"value\""),
              std::string::npos);
    EXPECT_NE(message_of("{\"conversation\": [{\"content\": \"x\"}]}")
                  .find("conversation[0]: needs a string \"role\""),
              std::string::npos);
    EXPECT_NE(message_of("[{\"messages\": []},\n {]").find("bad.jsonl: malformed JSON at line 2"),
              std::string::npos);
    EXPECT_NE(message_of("  \n").find("empty file"), std::string::npos);
    // A number beyond double's range (out_of_range, not parse_error; found by fuzz_prompt_records).
    EXPECT_NE(message_of("{\"lang\": 1e999}\n").find("bad.jsonl:1: malformed JSON: "), std::string::npos);
    EXPECT_NE(message_of("[1e999]").find("bad.jsonl: malformed JSON: "), std::string::npos);
    EXPECT_THROW(prompt_records_read(dir_ + "/missing.jsonl"), InputError);
}

PromptRecord rec(std::vector<ChatMessage> m, std::optional<std::string> lang = std::nullopt) {
    return PromptRecord{std::move(m), std::move(lang), "t"};
}

TEST_F(PromptsTest, FiltersLikeConstructPrompts) {
    const std::vector<PromptRecord> recs = {
        rec({{"user", "a"}, {"assistant", "b"}}, "English"),           // kept, ends with user after the drop
        rec({{"user", "c"}}, "French"),                                // not English
        rec({{"assistant", "only"}}),                                  // nothing left after dropping
        rec({{"user", "d"}, {"assistant", "  "}, {"user", "e"}}),      // an empty turn
        rec({{"user", "a"}}, "english"),                               // duplicate of the first
        rec({{"user", std::string(40, 'x')}}),                         // too long
        rec({{"", "?"}, {"user", "f"}}),                               // unknown role
        rec({{"user", "g"}, {"assistant", "h"}, {"assistant", "i"}}),  // kept: both assistant turns dropped
        rec({{"system", "own"}, {"user", "j"}}, "EN"),                 // kept, keeps its own system turn
    };
    PromptSetOptions o;
    o.max_tokens = 30;
    o.system = "sys";
    PromptSetStats st;
    const auto out = prompt_set_build(recs, o, fake_tokenize, st);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].size(), 2u);
    EXPECT_EQ(out[0][0].role, "system");
    EXPECT_EQ(out[0][0].content, "sys");
    EXPECT_EQ(out[0][1].content, "a");
    EXPECT_EQ(out[1].back().content, "g");
    EXPECT_EQ(out[1].size(), 2u);
    EXPECT_EQ(out[2][0].content, "own");
    EXPECT_EQ(out[2].size(), 2u);
    EXPECT_EQ(st.read, 9u);
    EXPECT_EQ(st.kept, 3u);
    EXPECT_EQ(st.not_english, 1u);
    EXPECT_EQ(st.no_user_turn, 1u);
    EXPECT_EQ(st.empty_turn, 1u);
    EXPECT_EQ(st.duplicate, 1u);
    EXPECT_EQ(st.too_long, 1u);
    EXPECT_EQ(st.unknown_role, 1u);
    // Length counts the system prompt: "system:sys|user:a|" is 18 tokens; a limit of 17 drops it.
    o.max_tokens = 17;
    EXPECT_EQ(prompt_set_build({recs[0]}, o, fake_tokenize, st).size(), 0u);
    o.max_tokens = 18;
    EXPECT_EQ(prompt_set_build({recs[0]}, o, fake_tokenize, st).size(), 1u);
    // --all-languages keeps the French one.
    o.english_only = false;
    EXPECT_EQ(prompt_set_build({recs[1]}, o, fake_tokenize, st).size(), 1u);
}

TEST_F(PromptsTest, LimitShuffleAndTemplateErrors) {
    std::vector<PromptRecord> recs;
    for (int i = 0; i < 20; ++i) recs.push_back(rec({{"user", std::string("p").append(std::to_string(i))}}));
    PromptSetOptions o;
    o.limit = 5;
    PromptSetStats st;
    auto first = prompt_set_build(recs, o, fake_tokenize, st);
    ASSERT_EQ(first.size(), 5u);
    EXPECT_EQ(first[4][0].content, "p4");
    EXPECT_EQ(st.read, 5u);
    o.shuffle_seed = 7;
    auto a = prompt_set_build(recs, o, fake_tokenize, st);
    auto b = prompt_set_build(recs, o, fake_tokenize, st);
    ASSERT_EQ(a.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(a[i][0].content, b[i][0].content);
    bool differs = false;
    for (size_t i = 0; i < 5; ++i) differs |= a[i][0].content != first[i][0].content;
    EXPECT_TRUE(differs) << "seed 7 kept the file order";
    o.shuffle_seed = 8;
    auto c = prompt_set_build(recs, o, fake_tokenize, st);
    bool seeds_differ = false;
    for (size_t i = 0; i < 5; ++i) seeds_differ |= a[i][0].content != c[i][0].content;
    EXPECT_TRUE(seeds_differ);
    auto throwing = [](const std::vector<ChatMessage> &m) -> std::vector<int32_t> {
        if (m[0].content == "p3") throw std::runtime_error("template says no");
        return fake_tokenize(m);
    };
    o.shuffle_seed.reset();
    o.limit = 0;
    auto d = prompt_set_build(recs, o, throwing, st);
    EXPECT_EQ(d.size(), 19u);
    EXPECT_EQ(st.template_error, 1u);
}

TEST_F(PromptsTest, WritesWhatGenerateReads) {
    const std::string path = dir_ + "/out.jsonl";
    prompt_set_write(path, {{{"system", "s"}, {"user", "u \"q\"\n"}}, {{"user", "bad \xC3"}}});
    std::ifstream in(path);
    std::string l1, l2, l3;
    std::getline(in, l1);
    std::getline(in, l2);
    EXPECT_FALSE(std::getline(in, l3));
    EXPECT_EQ(l1, R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"u \"q\"\n"}]})");
    EXPECT_EQ(nlohmann::json::parse(l2)["messages"][0]["content"], "bad \xEF\xBF\xBD");  // U+FFFD
    // And the file reads back as the same conversations.
    const auto back = prompt_records_read(path);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].messages[1].content, "u \"q\"\n");
}

}  // namespace
}  // namespace difr
