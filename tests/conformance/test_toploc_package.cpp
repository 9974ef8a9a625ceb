// TOPLOC against the PyPI package toploc 0.1.6 (tests/data/conformance/toploc.json, made by
// tools/conformance/toploc_run.sh with the package itself): difr builds byte-identical proofs for every case,
// ties at the k-th value included, and reproduces the package's verification results on both of its code paths.
#include <gtest/gtest.h>

#include "conformance_data.h"
#include "difr/toploc.h"

namespace {

using namespace conformance;

std::vector<uint16_t> bits_decode(const std::string &b64) {
    const std::vector<uint8_t> b = difr::base64_decode(b64);
    std::vector<uint16_t> v(b.size() / 2);
    for (size_t i = 0; i < v.size(); ++i) v[i] = uint16_t(b[2 * i] | (b[2 * i + 1] << 8));
    return v;
}

std::vector<std::vector<uint16_t>> activations(const json &list) {
    std::vector<std::vector<uint16_t>> out;
    for (const json &a : list) out.push_back(bits_decode(a.at("bf16").get<std::string>()));
    return out;
}

TEST(ToplocConformance, GoldensCoverTiesBothTopkAlgorithmsAndSmallModuli) {
    const json g = golden_load("toploc.json");
    bool partial = false, nth = false, below = false, readme = false;
    for (const json &c : g.at("cases")) {
        const auto acts = activations(c.at("activations"));
        const auto chunks =
            difr::toploc_chunks(acts, c.at("decode_batching_size").get<int32_t>(), c.at("skip_prefill").get<bool>());
        const int64_t k = c.at("topk");
        for (const auto &ch : chunks) (k * 64 <= int64_t(ch.size()) ? partial : nth) = true;
        for (const auto &p : c.at("proofs")) below = below || difr::base64_decode(p.get<std::string>())[0] != 0xFF;
        readme = readme || c.at("name") == "readme";
    }
    EXPECT_TRUE(partial && nth && below && readme);
}

TEST(ToplocConformance, ProofsAreByteIdenticalToThePackages) {
    const json g = golden_load("toploc.json");
    int64_t proofs = 0;
    for (const json &c : g.at("cases")) {
        const auto acts = activations(c.at("activations"));
        const auto chunks =
            difr::toploc_chunks(acts, c.at("decode_batching_size").get<int32_t>(), c.at("skip_prefill").get<bool>());
        const auto &want = c.at("proofs");
        ASSERT_EQ(chunks.size(), want.size()) << c.at("name");
        for (size_t i = 0; i < chunks.size(); ++i) {
            const difr::ToplocProof p = difr::toploc_proof_build(chunks[i], c.at("topk").get<int32_t>());
            EXPECT_EQ(difr::base64_encode(difr::toploc_proof_bytes(p)), want[i].get<std::string>())
                << c.at("name") << " chunk " << i;
            ++proofs;
        }
    }
    RecordProperty("proofs", std::to_string(proofs));
}

TEST(ToplocConformance, VerificationMatchesBothOfThePackagesPaths) {
    const json g = golden_load("toploc.json");
    int64_t compared = 0;
    for (const json &c : g.at("cases")) {
        const int32_t k = c.at("topk"), dbs = c.at("decode_batching_size");
        const bool skip = c.at("skip_prefill");
        std::vector<difr::ToplocProof> proofs;
        for (const auto &p : c.at("proofs"))
            proofs.push_back(difr::toploc_proof_parse(difr::base64_decode(p.get<std::string>()), k));
        for (const json &v : c.at("verify")) {
            const auto chunks = difr::toploc_chunks(activations(v.at("activations")), dbs, skip);
            for (const char *path : {"python", "cpp"}) {
                if (!v.contains(path)) continue;
                const auto sem = std::string(path) == "cpp" ? difr::ToplocSemantics::cpp : difr::ToplocSemantics::python;
                const json &want = v.at(path);
                ASSERT_EQ(want.size(), chunks.size());
                for (size_t i = 0; i < chunks.size(); ++i) {
                    const difr::ToplocResult r = difr::toploc_proof_verify(proofs[i], chunks[i], k, sem);
                    const std::string where = c.at("name").get<std::string>() + " / " + v.at("name").get<std::string>() +
                                              " / " + path + " chunk " + std::to_string(i);
                    EXPECT_EQ(r.exp_mismatches, want[i][0].get<int32_t>()) << where;
                    EXPECT_EQ(r.mant_err_mean, want[i][1].get<double>()) << where;
                    EXPECT_EQ(r.mant_err_median, want[i][2].get<double>()) << where;
                    ++compared;
                }
            }
        }
    }
    RecordProperty("results", std::to_string(compared));
}

TEST(ToplocConformance, ReadmeExampleIsInTheGoldens) {
    // The README's printed proofs (toploc.md section 3.3), asserted again here so that a regenerated golden
    // cannot drift from what the package documents.
    const json g = golden_load("toploc.json");
    for (const json &c : g.at("cases"))
        if (c.at("name") == "readme")
            EXPECT_EQ(c.at("proofs"), json({"/9kbQitnukt1bQ==", "/9nLuJrxhiVUoA==", "/9m0aNrm5KtBtg==",
                                            "/9mAZNZYMOKvcw==", "/9nSBGTqkZH21w=="}));
}

}  // namespace
