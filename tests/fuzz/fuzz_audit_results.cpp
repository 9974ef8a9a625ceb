// Audit results (audit_results.json, difr's or token-difr's): `difr audit-report`, rendered to HTML too.
#include <nlohmann/json.hpp>

#include "difr/audit_report.h"
#include "difr/error.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    const std::string source = "fuzz-results.json";
    AuditReport report;
    if (!fuzz::fuzz_expect<InputError>(
            source, [&] { report = audit_report_parse(fuzz::fuzz_text(data, size), source); }))
        return 0;
    AuditReportOptions options;
    if (size > 0) options.threshold = data[0] / 255.0;
    const std::string html = audit_report_html(report, options);
    if (html.find("</html>") == std::string::npos) fuzz::fuzz_fail("the page is not complete");
    return 0;
}
