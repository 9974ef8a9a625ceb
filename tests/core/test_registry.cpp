// The model registry: the built-in table (token-difr's entries), user files overriding it field by field,
// and lookups that fail with a message saying what to add.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "difr/error.h"
#include "difr/registry.h"

namespace {

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("difr-registry-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        unsetenv("DIFR_REGISTRY");
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        unsetenv("DIFR_REGISTRY");
    }
    std::string write(const std::string &name, const std::string &text) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }
    std::filesystem::path dir_;
};

TEST_F(RegistryTest, BuiltinHasTokenDifrsEntries) {
    const difr::Registry r = difr::registry_load();
    EXPECT_EQ(r.lookup("meta-llama/Llama-3.1-8B-Instruct", difr::kRegistryFireworks),
              "accounts/fireworks/models/llama-v3p1-8b-instruct");
    EXPECT_EQ(r.lookup("zai-org/GLM-4.6", difr::kRegistryFireworks), "accounts/fireworks/models/glm-4p6");
    EXPECT_EQ(r.lookup("zai-org/GLM-4.6", difr::kRegistryOpenRouter), "z-ai/glm-4.6");
    EXPECT_EQ(r.lookup("moonshotai/Kimi-K2-Instruct", difr::kRegistryOpenRouter), "moonshotai/kimi-k2");
    EXPECT_EQ(r.lookup("HuggingFaceTB/SmolLM2-135M-Instruct", difr::kRegistryGguf),
              "smollm2-135m-instruct-q4_1");
    // 9 Fireworks entries in token-difr 0.1.2, one OpenRouter-only (Kimi-K2-Instruct), one embedded model.
    EXPECT_EQ(r.entries().size(), 11u);
    int fireworks = 0;
    for (const auto &e : r.entries()) fireworks += e.names.count("fireworks");
    EXPECT_EQ(fireworks, 9);
}

TEST_F(RegistryTest, OpenRouterFallsBackToTheLowercasedName) {
    const difr::Registry r = difr::registry_load();
    EXPECT_EQ(r.lookup("Org/Some-Model-7B", difr::kRegistryOpenRouter), "org/some-model-7b");
}

TEST_F(RegistryTest, MissingNamesAreErrorsThatSayWhatToAdd) {
    const difr::Registry r = difr::registry_load();
    try {
        r.lookup("moonshotai/Kimi-K2-Instruct", difr::kRegistryFireworks);
        FAIL() << "expected InputError";
    } catch (const difr::InputError &e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("no fireworks name for 'moonshotai/Kimi-K2-Instruct'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("--registry or $DIFR_REGISTRY"), std::string::npos) << msg;
        EXPECT_NE(msg.find("accounts/fireworks/models/kimi-k2-instruct"), std::string::npos) << msg;
        EXPECT_EQ(msg.find("not listed at all"), std::string::npos) << msg;
    }
    try {
        r.lookup("nobody/Nothing-1B", difr::kRegistryGguf);
        FAIL() << "expected InputError";
    } catch (const difr::InputError &e) {
        EXPECT_NE(std::string(e.what()).find("not listed at all"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(r.find("nobody/Nothing-1B", difr::kRegistryFireworks).has_value());
}

TEST_F(RegistryTest, UserFileOverridesFieldByFieldAndAddsModels) {
    const std::string user = write("user.json", R"({"models": [
        {"hf": "zai-org/GLM-4.6", "fireworks": "accounts/me/models/glm-4p6-mine"},
        {"hf": "me/Tiny-1B", "fireworks": "accounts/me/models/tiny", "vllm": "tiny"}]})");
    const difr::Registry r = difr::registry_load(user);
    EXPECT_EQ(r.lookup("zai-org/GLM-4.6", "fireworks"), "accounts/me/models/glm-4p6-mine");
    EXPECT_EQ(r.lookup("zai-org/GLM-4.6", "openrouter"), "z-ai/glm-4.6");  // kept from the built-in table
    EXPECT_EQ(r.lookup("me/Tiny-1B", "vllm"), "tiny");
    EXPECT_EQ(r.entries().size(), 12u);
    ASSERT_EQ(r.files().size(), 2u);
    EXPECT_EQ(r.files()[1], user);
}

TEST_F(RegistryTest, EnvironmentFileThenCommandLineFile) {
    const std::string env =
        write("env.json", R"({"models": [{"hf": "a/B", "fireworks": "from-env", "gguf": "b"}]})");
    const std::string cli = write("cli.json", R"({"models": [{"hf": "a/B", "fireworks": "from-cli"}]})");
    setenv("DIFR_REGISTRY", env.c_str(), 1);
    const difr::Registry r = difr::registry_load(cli);
    EXPECT_EQ(r.lookup("a/B", "fireworks"), "from-cli");
    EXPECT_EQ(r.lookup("a/B", "gguf"), "b");
    EXPECT_EQ(r.files().size(), 3u);
}

TEST_F(RegistryTest, BadFilesNameFileAndEntry) {
    auto expect_error = [&](const std::string &text, const std::string &needle) {
        const std::string path = write("bad.json", text);
        difr::Registry r;
        try {
            r.merge_file(path);
            ADD_FAILURE() << "no error for " << text;
        } catch (const difr::InputError &e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error(R"({"models": [{"hf": "a/B"},])", "bad.json: malformed JSON");
    expect_error(R"([{"hf": "a/B"}])", "bad.json: expected {\"models\"");
    expect_error(R"({"models": [{"hf": "a/B"}, {"fireworks": "x"}]})", "bad.json: models[1]: needs \"hf\"");
    expect_error(R"({"models": [{"hf": "a/B", "fireworks": 3}]})", "bad.json: models[0].fireworks: expected");
    expect_error(R"({"models": [{"hf": "a/B"}, {"hf": "a/B"}]})", "models[1]: \"a/B\" appears twice");
    difr::Registry r;
    EXPECT_THROW(r.merge_file((dir_ / "missing.json").string()), difr::InputError);
}

TEST(RegistryGuess, TokenDifrsFireworksHeuristic) {
    EXPECT_EQ(difr::registry_guess_fireworks("meta-llama/Llama-3.1-8B-Instruct"),
              "accounts/fireworks/models/llama-3p1-8b-instruct");
    EXPECT_EQ(difr::registry_guess_fireworks("GLM-4.6"), "accounts/fireworks/models/glm-4p6");
}

}  // namespace
