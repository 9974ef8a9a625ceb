// TOPLOC against the PyPI package toploc 0.1.6 (tests/data/conformance/toploc.json, made by
// tools/conformance/toploc_run.sh with the package itself): difr builds byte-identical proofs for every case,
// ties at the k-th value included, and reproduces the package's verification results on both of its code
// paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

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
    int64_t tied = 0;  // chunks whose k-th and (k+1)-th largest |x| are equal: the tie rule decides the set
    for (const json &c : g.at("cases")) {
        const auto acts = activations(c.at("activations"));
        const auto chunks = difr::toploc_chunks(acts, c.at("decode_batching_size").get<int32_t>(),
                                                c.at("skip_prefill").get<bool>());
        const int64_t k = c.at("topk");
        for (const auto &ch : chunks) {
            (k * 64 <= int64_t(ch.size()) ? partial : nth) = true;
            if (int64_t(ch.size()) <= k) continue;
            std::vector<uint16_t> mag(ch.size());
            for (size_t i = 0; i < ch.size(); ++i)
                mag[i] = ch[i] & 0x7FFF;  // order of |bf16| = order of bits
            std::nth_element(mag.begin(), mag.begin() + k, mag.end(), std::greater<>());
            const uint16_t next = mag[size_t(k)];
            tied += *std::min_element(mag.begin(), mag.begin() + k) == next;
        }
        for (const auto &p : c.at("proofs")) {
            const std::vector<uint8_t> b = difr::base64_decode(p.get<std::string>());
            below = below || ((b[0] << 8) | b[1]) < int(difr::kToplocPrime);
        }
        readme = readme || c.at("name") == "readme";
    }
    EXPECT_TRUE(partial);
    EXPECT_TRUE(nth);
    EXPECT_TRUE(below);
    EXPECT_TRUE(readme);
    EXPECT_GE(tied, 20);
    RecordProperty("tied_chunks", std::to_string(tied));
}

TEST(ToplocConformance, ProofsAreByteIdenticalToThePackages) {
    const json g = golden_load("toploc.json");
    int64_t proofs = 0, identical = 0;
    for (const json &c : g.at("cases")) {
        const auto acts = activations(c.at("activations"));
        const auto chunks = difr::toploc_chunks(acts, c.at("decode_batching_size").get<int32_t>(),
                                                c.at("skip_prefill").get<bool>());
        const auto &want = c.at("proofs");
        ASSERT_EQ(chunks.size(), want.size()) << c.at("name");
        for (size_t i = 0; i < chunks.size(); ++i) {
            const difr::ToplocProof p = difr::toploc_proof_build(chunks[i], c.at("topk").get<int32_t>());
            const std::string got = difr::base64_encode(difr::toploc_proof_bytes(p));
            EXPECT_EQ(got, want[i].get<std::string>()) << c.at("name") << " chunk " << i;
            ++proofs;
            identical += got == want[i].get<std::string>();
        }
    }
    RecordProperty("compared", std::to_string(proofs));
    RecordProperty("bit_exact", std::to_string(identical));
}

TEST(ToplocConformance, VerificationMatchesBothOfThePackagesPaths) {
    const json g = golden_load("toploc.json");
    int64_t compared = 0, exact = 0;
    for (const json &c : g.at("cases")) {
        const int32_t k = c.at("topk"), dbs = c.at("decode_batching_size");
        const bool skip = c.at("skip_prefill");
        std::vector<difr::ToplocProof> proofs;
        for (const auto &p : c.at("proofs"))
            proofs.push_back(difr::toploc_proof_parse(difr::base64_decode(p.get<std::string>()), k));
        for (const json &v : c.at("verify")) {
            const json &vacts = v.value("same_as_prover", false) ? c.at("activations") : v.at("activations");
            const auto chunks = difr::toploc_chunks(activations(vacts), dbs, skip);
            for (const char *path : {"python", "cpp"}) {
                if (!v.contains(path)) continue;
                const auto sem =
                    std::string(path) == "cpp" ? difr::ToplocSemantics::cpp : difr::ToplocSemantics::python;
                const json &want = v.at(path);
                ASSERT_EQ(want.size(), chunks.size());
                for (size_t i = 0; i < chunks.size(); ++i) {
                    const difr::ToplocResult r = difr::toploc_proof_verify(proofs[i], chunks[i], k, sem);
                    const std::string where = c.at("name").get<std::string>() + " / " +
                                              v.at("name").get<std::string>() + " / " + path + " chunk " +
                                              std::to_string(i);
                    EXPECT_EQ(r.exp_mismatches, want[i][0].get<int32_t>()) << where;
                    EXPECT_EQ(r.mant_err_mean, want[i][1].get<double>()) << where;
                    EXPECT_EQ(r.mant_err_median, want[i][2].get<double>()) << where;
                    compared += 3;
                    exact += (r.exp_mismatches == want[i][0].get<int32_t>()) +
                             (r.mant_err_mean == want[i][1].get<double>()) +
                             (r.mant_err_median == want[i][2].get<double>());
                }
            }
        }
    }
    RecordProperty("compared", std::to_string(compared));
    RecordProperty("bit_exact", std::to_string(exact));
}

TEST(ToplocConformance, ReadmeExampleIsInTheGoldens) {
    // The README's printed proofs (toploc.md section 3.3), asserted again here so that a regenerated golden
    // cannot drift from what the package documents.
    const json g = golden_load("toploc.json");
    int found = 0;
    for (const json &c : g.at("cases")) {
        if (c.at("name") != "readme") continue;
        ++found;
        EXPECT_EQ(c.at("proofs"), json({"/9kbQitnukt1bQ==", "/9nLuJrxhiVUoA==", "/9m0aNrm5KtBtg==",
                                        "/9mAZNZYMOKvcw==", "/9nSBGTqkZH21w=="}));
    }
    EXPECT_EQ(found, 1);
}

}  // namespace
