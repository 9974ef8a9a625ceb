// Lab files (docs/lab.md): what each configuration kind makes the provider do, the defaults, and the errors
// that name the file and the key. The shipped labs must parse.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "difr/error.h"
#include "difr/lab.h"
#include "difr/lab_artifacts.h"

namespace difr {
namespace {

std::string lab_write(const std::string &name, const std::string &configs) {
    const std::string path = std::filesystem::temp_directory_path().string() + "/difr-lab-" + name + ".toml";
    std::ofstream(path) << "reference = \"ref.gguf\"\nprompts = \"p.jsonl\"\n"
                           "[claimed]\ntemperature = 1.0\ntop_k = 50\ntop_p = 0.95\nseed = 42\n"
                        << configs;
    return path;
}

std::string error_of(const std::string &path) {
    try {
        lab_spec_read(path);
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

TEST(LabFile, KindsSetRolesSettingsAndPasses) {
    const std::string path = lab_write("kinds", R"(
[[configs]]
name = "reference"
kind = "reference"
[[configs]]
name = "fa"
kind = "engine"
flash_attn = true
threads = 3
[[configs]]
name = "kv"
kind = "kv_cache"
type = "Q4_0"
[[configs]]
name = "hot"
kind = "temperature"
value = 1.1
[[configs]]
name = "bug"
kind = "sampling_bug"
[[configs]]
name = "sys"
kind = "system_prompt"
text = "Be brief."
[[configs]]
name = "pre"
kind = "prefill"
cheap = "Q3_K_S"
[[configs]]
name = "pre_kv"
kind = "prefill"
cheap = "Q2_K"
kv_type = "Q4_0"
)");
    const LabSpec s = lab_spec_read(path);
    EXPECT_EQ(s.name, "difr-lab-kinds");  // the file's stem when no name is given
    EXPECT_EQ(s.n_prompts, 100);
    EXPECT_EQ(s.max_tokens, 200);
    EXPECT_EQ(s.prompts, (std::filesystem::temp_directory_path() / "p.jsonl").lexically_normal().string());
    ASSERT_EQ(s.configs.size(), 8u);
    const LabConfig &ref = s.configs[0], &fa = s.configs[1], &kv = s.configs[2], &hot = s.configs[3],
                    &bug = s.configs[4], &sys = s.configs[5], &pre = s.configs[6];
    EXPECT_EQ(ref.role, LabRole::honest);
    EXPECT_EQ(ref.settings.to_json(), s.settings.to_json());
    EXPECT_EQ(fa.role, LabRole::honest);
    EXPECT_EQ(fa.settings.flash_attn, "on");
    EXPECT_EQ(fa.settings.n_threads, 3);
    EXPECT_EQ(kv.role, LabRole::deviation);
    EXPECT_EQ(kv.settings.kv_type, "q4_0");
    EXPECT_EQ(kv.settings.flash_attn, "on");  // llama.cpp needs it for a quantised V cache
    EXPECT_TRUE(kv.greedy_pass);
    EXPECT_FLOAT_EQ(*hot.temperature, 1.1f);
    EXPECT_FALSE(hot.greedy_pass);  // greedy decoding ignores the temperature
    EXPECT_DOUBLE_EQ(bug.bug.rate, 0.01);
    EXPECT_EQ(bug.bug.top, 20);
    EXPECT_TRUE(bug.greedy_pass);  // a bug changes greedy output too
    EXPECT_EQ(sys.system_prompt, "Be brief.");
    EXPECT_EQ(pre.quantize, "Q3_K_S");
    EXPECT_EQ(pre.settings.to_json(), s.settings.to_json());  // the reference's engine, cheaper weights
    const LabConfig &pre_kv = s.configs[7];
    EXPECT_EQ(pre_kv.quantize, "Q2_K");
    EXPECT_EQ(pre_kv.settings.kv_type, "q4_0");
    EXPECT_EQ(pre_kv.settings.flash_attn, "on");
    EXPECT_EQ(lab_claimed(s, "t1").top_k, 50);
    EXPECT_EQ(lab_claimed(s, "t0").temperature, 0.0f);
}

TEST(LabFile, ErrorsNameTheFileAndTheKey) {
    std::string e = error_of(lab_write("engine-noop", "[[configs]]\nname = \"x\"\nkind = \"engine\"\n"));
    EXPECT_NE(e.find("difr-lab-engine-noop.toml: key 'configs[0].kind': an engine configuration must change"),
              std::string::npos)
        << e;
    e = error_of(lab_write("rate", "[[configs]]\nname = \"x\"\nkind = \"sampling_bug\"\nrate = 2.0\n"));
    EXPECT_NE(e.find("key 'configs[0].rate': must be in (0, 1]"), std::string::npos) << e;
    e = error_of(lab_write("badname", "[[configs]]\nname = \"a/b\"\nkind = \"reference\"\n"));
    EXPECT_NE(e.find("key 'configs[0].name': 'a/b' may only hold"), std::string::npos) << e;
    e = error_of(lab_write("noconfigs", ""));
    EXPECT_NE(e.find("key 'configs': missing (required)"), std::string::npos) << e;
    e = error_of(
        lab_write("noise", "noise = \"gaussian\"\n[[configs]]\nname = \"r\"\nkind = \"reference\"\n"));
    EXPECT_NE(e.find("key 'claimed.noise': unknown key"), std::string::npos) << e;  // inside [claimed]
}

// The InputError message of reading TEXT as an artifact lab file named STEM.toml in the temporary directory
// ("" when it reads).
std::string artifact_lab_error(const std::string &stem, const std::string &text) {
    const std::string path = std::filesystem::temp_directory_path().string() + "/" + stem + ".toml";
    std::ofstream(path) << text;
    try {
        artifact_lab_read(path);
    } catch (const InputError &e) {
        return std::string(e.what());
    }
    return std::string();
}

// An artifact lab's integers must be TOML integers within range. A float used to reach toml++'s
// float-to-integer conversion, whose cast of -9.2e19 is undefined behaviour (fuzz_artifact_lab's crash input,
// tests/fuzz/regressions/fuzz_artifact_lab); 2^40 used to be truncated to an int silently.
TEST(ArtifactLabFile, IntegersAreTomlIntegersInRange) {
    const auto error_of_artifacts = [](const std::string &name, const std::string &text) {
        return artifact_lab_error("difr-artifact-lab-" + name, text);
    };
    std::string e = error_of_artifacts("float", "k=-92233720368547758081.0\n");
    EXPECT_NE(e.find("difr-artifact-lab-float.toml: key 'k': expected an integer"), std::string::npos) << e;
    e = error_of_artifacts("wide", "k = 1099511627776\n");
    EXPECT_NE(e.find("key 'k': 1099511627776 is out of range"), std::string::npos) << e;
    e = error_of_artifacts("lengths", "lengths = [10, 1.5e300]\n");
    EXPECT_NE(e.find("key 'lengths': expected an integer"), std::string::npos) << e;
    const ArtifactLabSpec shipped =
        artifact_lab_read(std::string(DIFR_SOURCE_DIR) + "/data/lab/artifacts.toml");
    EXPECT_EQ(shipped.k, 5);
    EXPECT_EQ(shipped.lengths, (std::vector<int32_t>{10, 30, 100, 300}));
}

// The artifact lab file is read by the same reader as the lab file: an unknown key (at the top, in [claimed],
// or one that the scenario's kind does not take), a wrong type or a count out of range is an error naming the
// key, never a silent default.
TEST(ArtifactLabFile, EveryKeyIsChecked) {
    const auto error_of_artifacts = [](const std::string &name, const std::string &text) {
        return artifact_lab_error("difr-artifact-keys-" + name, text);
    };
    const std::string scenario = "[[scenarios]]\nname = \"honest\"\nkind = \"reference\"\n";
    EXPECT_EQ(error_of_artifacts("ok", "k = 3\n" + scenario), "");
    std::string e = error_of_artifacts("top", "n_artifact = 3\n" + scenario);
    EXPECT_NE(e.find("difr-artifact-keys-top.toml: key 'n_artifact': unknown key (known here: claimed, k,"),
              std::string::npos)
        << e;
    e = error_of_artifacts("claimed", "[claimed]\ntemprature = 0.7\n" + scenario);
    EXPECT_NE(e.find("key 'claimed.temprature': unknown key"), std::string::npos) << e;
    // `type` belongs to quantize, forgery and prefill scenarios; on an engine scenario it would do nothing.
    e = error_of_artifacts("kind", "[[scenarios]]\nname = \"e\"\nkind = \"engine\"\ntype = \"Q8_0\"\n");
    EXPECT_NE(
        e.find("key 'scenarios[0].type': unknown key (known here: batch, description, draw, flash_attn,"),
        std::string::npos)
        << e;
    e = error_of_artifacts("threads", "[[scenarios]]\nname = \"e\"\nkind = \"engine\"\nthreads = 0\n");
    EXPECT_NE(e.find("key 'scenarios[0].threads': 0 is out of range (1 to 1000000)"), std::string::npos) << e;
    e = error_of_artifacts("name", "name = 7\n" + scenario);
    EXPECT_NE(e.find("key 'name': expected a string, got an integer"), std::string::npos) << e;
    e = error_of_artifacts("lengths", "lengths = 10\n" + scenario);
    EXPECT_NE(e.find("key 'lengths': expected an array of integers, got an integer"), std::string::npos) << e;
    e = error_of_artifacts("noscenarios", "k = 3\n");
    EXPECT_NE(e.find("key 'scenarios': at least one [[scenarios]] table"), std::string::npos) << e;
    e = error_of_artifacts("syntax", "k = = 3\n");
    EXPECT_NE(e.find("difr-artifact-keys-syntax.toml:1:"), std::string::npos) << e;
    EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
}

TEST(LabFile, ShippedLabsParse) {
    for (const char *name : {"default", "gemma", "ci"}) {
        const LabSpec s = lab_spec_read(std::string(DIFR_SOURCE_DIR) + "/data/lab/" + name + ".toml");
        EXPECT_FALSE(s.configs.empty()) << name;
        EXPECT_EQ(s.configs[0].name, "reference") << name;
    }
    const LabSpec d = lab_spec_read(std::string(DIFR_SOURCE_DIR) + "/data/lab/default.toml");
    EXPECT_EQ(d.n_prompts, 100);  // the issue's full lab
    EXPECT_EQ(d.max_tokens, 200);
    EXPECT_EQ(d.configs.size(), 21u);
}

}  // namespace
}  // namespace difr
