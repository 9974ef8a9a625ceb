// Activation proofs over difr serve's prover endpoints, the pure parts (difr/fingerprint_proofs.h): the
// request's `fingerprint` and `toploc` fields, checked strictly, and the response's objects, which must be
// the fingerprints file's own lines so that a client can save them and run `difr verify --fingerprints`.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "difr/fingerprint_proofs.h"

namespace difr {
namespace {

using json = nlohmann::json;

constexpr int32_t kEmbd = 64;

ActivationProofSpec parse(const std::string &body, int32_t n_embd = kEmbd) {
    return activation_proof_request_parse(json::parse(body), n_embd);
}

TEST(ProofRequest, NothingAskedGivesAnEmptySpec) {
    EXPECT_TRUE(parse(R"({"messages": []})").empty());
    EXPECT_TRUE(parse(R"({"fingerprint": null, "toploc": null})").empty());
    EXPECT_TRUE(parse(R"({"fingerprint": false, "toploc": false})").empty());
}

TEST(ProofRequest, ShorthandsTakeTheCommandLinesDefaults) {
    // "fingerprint": K and "toploc": true are `difr generate --fingerprint K --toploc`.
    const ActivationProofSpec s = parse(R"({"fingerprint": 8, "toploc": true})", 576);
    ASSERT_TRUE(s.fingerprint && s.toploc);
    EXPECT_EQ(s.fingerprint->k, 8);
    EXPECT_EQ(s.fingerprint->seed, 42u);
    EXPECT_EQ(s.fingerprint->dim, 576);
    EXPECT_EQ(s.fingerprint->basis, FingerprintBasis::orthonormal);
    EXPECT_EQ(s.fingerprint->dtype, FingerprintDtype::f16);
    EXPECT_EQ(s.toploc->topk, 128);
    EXPECT_EQ(s.toploc->decode_batching_size, 32);
}

TEST(ProofRequest, ObjectsSetEveryField) {
    const ActivationProofSpec s = parse(
        R"({"fingerprint": {"k": 16, "seed": 18446744073709551615, "basis": "gaussian", "dtype": "bf16"},
            "toploc": {"topk": 64, "decode_batching_size": 8, "skip_prefill": true}})");
    ASSERT_TRUE(s.fingerprint && s.toploc);
    EXPECT_EQ(s.fingerprint->k, 16);
    EXPECT_EQ(s.fingerprint->seed, UINT64_MAX);
    EXPECT_EQ(s.fingerprint->basis, FingerprintBasis::gaussian);
    EXPECT_EQ(s.fingerprint->dtype, FingerprintDtype::bf16);
    EXPECT_EQ(s.toploc->topk, 64);
    EXPECT_EQ(s.toploc->decode_batching_size, 8);
    // The bounds themselves are accepted; only one proof may be asked for.
    EXPECT_EQ(parse(R"({"fingerprint": {"k": 2, "seed": 0}})").fingerprint->k, 2);
    EXPECT_EQ(parse(R"({"fingerprint": 128})", 128).fingerprint->k, 128);
    EXPECT_FALSE(parse(R"({"fingerprint": 128})", 128).toploc);
    const ActivationProofSpec t = parse(R"({"toploc": {"topk": 1, "decode_batching_size": 1048576}})");
    EXPECT_FALSE(t.fingerprint);
    EXPECT_EQ(t.toploc->topk, 1);
    EXPECT_EQ(t.toploc->decode_batching_size, 1 << 20);
    EXPECT_EQ(parse(R"({"toploc": {"topk": 64}})").toploc->topk, kEmbd);  // topk = n_embd
    // A Gaussian projection is not limited by the hidden size.
    EXPECT_EQ(parse(R"({"fingerprint": {"k": 100, "basis": "gaussian"}})").fingerprint->k, 100);
}

TEST(ProofRequest, BadFieldsAreNamed) {
    struct Case {
        const char *body, *field, *message;
    };
    const Case cases[] = {
        {R"({"fingerprint": 1})", "fingerprint", "fingerprint: 1 is outside [2, 128]"},
        {R"({"fingerprint": 129})", "fingerprint", "fingerprint: 129 is outside [2, 128]"},
        {R"({"fingerprint": -8})", "fingerprint", "fingerprint: -8 is outside [2, 128]"},
        {R"({"fingerprint": 18446744073709551615})", "fingerprint",
         "fingerprint: 18446744073709551615 is outside [2, 128]"},
        {R"({"fingerprint": "8"})", "fingerprint",
         "fingerprint: expected k (an integer) or an object {\"k\", \"seed\", \"basis\", \"dtype\"}, got "
         "string"},
        {R"({"fingerprint": 8.0})", "fingerprint", "got number"},
        {R"({"fingerprint": true})", "fingerprint", "got boolean"},
        {R"({"fingerprint": [8]})", "fingerprint", "got array"},
        {R"({"fingerprint": {}})", "fingerprint", "fingerprint.k: required: values per token, 2 to 128"},
        {R"({"fingerprint": {"k": 8.5}})", "fingerprint", "fingerprint.k: expected an integer, got number"},
        {R"({"fingerprint": {"k": 8, "K": 8}})", "fingerprint",
         "fingerprint.K: unknown field (fingerprint takes k, seed, basis, dtype)"},
        {R"({"fingerprint": {"k": 8, "seed": -1}})", "fingerprint",
         "fingerprint.seed: -1 is outside [0, 9223372036854775807]"},
        {R"({"fingerprint": {"k": 8, "seed": "42"}})", "fingerprint",
         "fingerprint.seed: expected an integer, got string"},
        {R"({"fingerprint": {"k": 8, "basis": "random"}})", "fingerprint",
         "fingerprint.basis: fingerprint basis must be orthonormal or gaussian, got 'random'"},
        {R"({"fingerprint": {"k": 8, "basis": null}})", "fingerprint",
         "fingerprint.basis: expected a string, got null"},
        {R"({"fingerprint": {"k": 8, "dtype": 16}})", "fingerprint",
         "fingerprint.dtype: expected a string, got number"},
        {R"({"fingerprint": {"k": 8, "dtype": "f32"}})", "fingerprint",
         "fingerprint.dtype: fingerprint dtype must be f16 or bf16, got 'f32'"},
        {R"({"fingerprint": {"k": 100}})", "fingerprint",
         "fingerprint.k: 100 orthonormal directions do not fit the hidden size 64"},
        {R"({"toploc": 1})", "toploc",
         "toploc: expected true or an object {\"topk\", \"decode_batching_size\", \"skip_prefill\"}, got "
         "number"},
        {R"({"toploc": "yes"})", "toploc", "got string"},
        {R"({"toploc": true})", "toploc",
         "toploc.topk: 128 is more than the hidden size 64 (a chunk's last proof may cover a single token)"},
        {R"({"toploc": {"topk": 0}})", "toploc", "toploc.topk: 0 is outside [1, 64]"},
        {R"({"toploc": {"topk": 65}})", "toploc", "toploc.topk: 65 is outside [1, 64]"},
        {R"({"toploc": {"topk": "16"}})", "toploc", "toploc.topk: expected an integer, got string"},
        {R"({"toploc": {"topk": 16, "decode_batching_size": 0}})", "toploc",
         "toploc.decode_batching_size: 0 is outside [1, 1048576]"},
        {R"({"toploc": {"topk": 16, "decode_batching_size": 1048577}})", "toploc",
         "toploc.decode_batching_size: 1048577 is outside [1, 1048576]"},
        {R"({"toploc": {"topk": 16, "decode_batching_size": 32.0}})", "toploc",
         "toploc.decode_batching_size: expected an integer, got number"},
        {R"({"toploc": {"topk": 16, "skip_prefill": false}})", "toploc",
         "toploc.skip_prefill: false is not offered: the proofs cover the generated tokens only"},
        {R"({"toploc": {"topk": 16, "skip_prefill": 1}})", "toploc",
         "toploc.skip_prefill: expected true or false, got number"},
        {R"({"toploc": {"topk": 16, "chunk": 8}})", "toploc",
         "toploc.chunk: unknown field (toploc takes topk, decode_batching_size, skip_prefill)"},
        // The fingerprint is checked first, so a request wrong in both names the fingerprint.
        {R"({"fingerprint": 1, "toploc": 1})", "fingerprint", "fingerprint: 1 is outside"},
    };
    for (const Case &c : cases) {
        try {
            parse(c.body);
            ADD_FAILURE() << c.body << " was accepted";
        } catch (const ActivationProofRequestError &e) {
            EXPECT_EQ(e.field(), c.field) << c.body;
            EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
                << c.body << "\n  got: " << e.what() << "\n  want: " << c.message;
        }
    }
}

// Proofs of `tokens` random hidden rows, as a prover makes them.
SequenceProofs prove(const ActivationProofSpec &spec, int32_t tokens, uint32_t seed) {
    ActivationProver prover(spec, kEmbd);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> h(kEmbd);
    for (int32_t j = 0; j < tokens; ++j) {
        for (float &v : h) v = normal(rng);
        prover.add(0, j, h);
    }
    return prover.finish(0);
}

class ProofResponse : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-proof-request-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    static std::vector<std::string> lines(const std::string &path) {
        std::ifstream in(path);
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }
    std::string dir_;
};

TEST_F(ProofResponse, TheObjectsAreTheFilesOwnLines) {
    const ActivationProofSpec spec =
        parse(R"({"fingerprint": {"k": 8, "seed": 7}, "toploc": {"topk": 16, "decode_batching_size": 4}})");
    const SequenceProofs a = prove(spec, 10, 1), b = prove(spec, 3, 2);
    ASSERT_EQ(a.fingerprint.size(), 10u * 8u);
    ASSERT_EQ(a.toploc.size(), 3u);  // 10 tokens in chunks of 4: 4 + 4 + 2
    ASSERT_EQ(b.toploc.size(), 1u);

    // The writer's file, line for line, is what the response carries.
    const std::string written = dir_ + "/written.jsonl";
    {
        ActivationProofsWriter w(written, "tiny", kEmbd, spec);
        w.write(0, a);
        w.write(1, b);
    }
    const std::vector<std::string> file = lines(written);
    ASSERT_EQ(file.size(), 3u);
    EXPECT_EQ(activation_proofs_header_json("tiny", kEmbd, spec).dump(), file[0]);
    EXPECT_EQ(activation_proofs_line_json(0, a).dump(), file[1]);
    EXPECT_EQ(activation_proofs_line_json(1, b).dump(), file[2]);
    EXPECT_EQ(file[0],
              R"({"format":"difr-fingerprints","version":1,"model":"tiny","n_embd":64,)"
              R"("fingerprint":{"seed":7,"k":8,"basis":"orthonormal","dtype":"f16","bytes_per_token":16},)"
              R"("toploc":{"topk":16,"decode_batching_size":4,"skip_prefill":true}})");

    // A client that saves the two objects of a response as lines has a file difr verify reads back whole.
    const std::string saved = dir_ + "/saved.jsonl";
    std::ofstream(saved) << activation_proofs_header_json("tiny", kEmbd, spec).dump() << "\n"
                         << activation_proofs_line_json(0, a).dump() << "\n";
    const ActivationProofsFile f = activation_proofs_read(saved);
    EXPECT_EQ(f.n_embd, kEmbd);
    ASSERT_TRUE(f.spec.fingerprint && f.spec.toploc);
    EXPECT_EQ(f.spec.fingerprint->seed, 7u);
    EXPECT_EQ(f.spec.toploc->decode_batching_size, 4);
    ASSERT_EQ(f.sequences.size(), 1u);
    EXPECT_EQ(f.sequences[0].tokens, 10);
    EXPECT_EQ(f.sequences[0].fingerprint, a.fingerprint);
    EXPECT_EQ(f.sequences[0].toploc, a.toploc);
}

TEST_F(ProofResponse, ByteCostIsTwoKPerTokenAndTwoPlusTwoKPerChunk) {
    const ActivationProofSpec both =
        parse(R"({"fingerprint": {"k": 8}, "toploc": {"topk": 16, "decode_batching_size": 4}})");
    const ActivationProofBytes b = activation_proof_bytes(both, prove(both, 10, 3));
    EXPECT_EQ(b.fingerprint, 10 * 16);
    EXPECT_EQ(b.toploc, 3 * (2 + 2 * 16));
    EXPECT_EQ(b.total(), 160 + 102);
    // Each proof's base64 decodes to exactly 2 + 2k bytes.
    for (const std::string &p : prove(both, 10, 3).toploc) EXPECT_EQ(base64_decode(p).size(), 34u);

    const ActivationProofSpec fp_only = parse(R"({"fingerprint": 2})");
    const ActivationProofBytes f = activation_proof_bytes(fp_only, prove(fp_only, 5, 4));
    EXPECT_EQ(f.fingerprint, 5 * 4);
    EXPECT_EQ(f.toploc, 0);
    const ActivationProofSpec tl_only = parse(R"({"toploc": {"topk": 64, "decode_batching_size": 32}})");
    const ActivationProofBytes t = activation_proof_bytes(tl_only, prove(tl_only, 33, 5));
    EXPECT_EQ(t.fingerprint, 0);
    EXPECT_EQ(t.toploc, 2 * (2 + 128));  // 33 tokens: a chunk of 32 and one of 1
}

}  // namespace
}  // namespace difr
