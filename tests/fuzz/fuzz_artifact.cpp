// Inference artifacts (`difr validate`, `difr lab --artifacts`): difr's artifact JSON or Gonka-style OpenAI
// responses with top-k logprobs, read by artifact_read from a file.
#include "difr/artifact.h"
#include "difr/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string path = fuzz::fuzz_file(data, size, "artifact.json");
    Artifact a;
    if (!fuzz::fuzz_expect<InputError>(path, [&] { a = artifact_read(path); })) return 0;
    if (a.sequences.empty()) fuzz::fuzz_fail("an artifact without sequences was accepted");
    if (a.k < 0) fuzz::fuzz_fail("an artifact with a negative k was accepted");
    // What was read is written back in difr's format, and that reads back the same. (An OpenAI-style artifact
    // names its tokens by text; their ids come from the model, artifact_resolve, so only difr's own
    // artifacts can be written back as read.)
    if (a.source != "difr") return 0;
    const std::string text = artifact_to_json(a);
    const std::string again =
        fuzz::fuzz_file(reinterpret_cast<const uint8_t *>(text.data()), text.size(), "artifact-again.json");
    Artifact b;
    try {
        b = artifact_read(again);
    } catch (const std::exception &e) {
        fuzz::fuzz_fail(std::string("an accepted artifact, written back, is refused: ") + e.what());
    }
    if (b.sequences.size() != a.sequences.size()) fuzz::fuzz_fail("an artifact written back lost sequences");
    return 0;
}
