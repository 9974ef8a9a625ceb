// TOPLOC proofs as they travel (base64 lines of `difr toploc verify --proofs`, the fingerprints file's proof
// strings): base64_decode then toploc_proof_parse, which throw std::invalid_argument for bad input (their
// callers add the file and line). The first byte picks top-k.
#include <stdexcept>

#include "difr/toploc.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    if (size == 0) return 0;
    const int32_t topk = int32_t(data[0] % 130) - 1;  // -1 to 128: out of range both ways
    const std::string text = fuzz::fuzz_text(data + 1, size - 1);
    std::vector<uint8_t> bytes;
    try {
        bytes = base64_decode(text);
    } catch (const std::invalid_argument &) {
        return 0;
    } catch (const std::exception &e) {
        fuzz::fuzz_fail(std::string("base64_decode threw ") + e.what());
    }
    // Like Python's base64 (which the proofs' makers use), the decoder ignores the unused low bits of the
    // last character ("AAQAA7p=" decodes as "AAQAA7o="), so only the bytes round-trip, not the text.
    if (base64_decode(base64_encode(bytes)) != bytes) fuzz::fuzz_fail("base64 does not round-trip: " + text);
    try {
        const ToplocProof p = toploc_proof_parse(bytes, topk);
        if (toploc_proof_bytes(p) != bytes) fuzz::fuzz_fail("a parsed proof does not write back its bytes");
    } catch (const std::invalid_argument &) {
    } catch (const std::exception &e) {
        fuzz::fuzz_fail(std::string("toploc_proof_parse threw ") + e.what());
    }
    return 0;
}
