// Activation fingerprint files (`difr verify --fingerprints`): a JSONL header, then per sequence its
// fingerprints and TOPLOC proofs in base64, read by activation_proofs_read.
#include "difr/error.h"
#include "difr/fingerprint_proofs.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string path = fuzz::fuzz_file(data, size, "fingerprints.jsonl");
    ActivationProofsFile f;
    if (!fuzz::fuzz_expect<InputError>(path, [&] { f = activation_proofs_read(path); })) return 0;
    if (f.n_embd < 1) fuzz::fuzz_fail("a fingerprints file with n_embd < 1 was accepted");
    return 0;
}
