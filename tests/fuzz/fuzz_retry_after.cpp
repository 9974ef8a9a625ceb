// The Retry-After header of a 429 or 503 answer (delta-seconds or an HTTP date).
#include <cmath>

#include "difr/http.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const auto delay = retry_after_parse(fuzz::fuzz_text(data, size), 1700000000);
    if (delay && !(*delay >= 0.0 && std::isfinite(*delay))) fuzz::fuzz_fail("a negative or infinite delay");
    return 0;
}
