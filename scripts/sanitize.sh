#!/usr/bin/env bash
# The sanitizer job (docs/hardening.md): difr's code, tests and tools built by clang with AddressSanitizer
# (leak checks on) and UndefinedBehaviorSanitizer into build-asan/ (llama.cpp uninstrumented), then the unit,
# conformance, engine and remote suites run under them; any report fails the test that caused it.
#
#   scripts/sanitize.sh              the suites CI runs (labels core, conformance, engine, remote)
#   scripts/sanitize.sh -L e2e       extra arguments go to ctest (here: the end-to-end tests on the ASan binary)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

asan_build difr difr_core_tests difr_conformance_tests difr_engine_tests difr_remote_tests
sanitizer_env
cd "$DIFR_BUILD_ASAN"
if [ $# -eq 0 ]; then
    set -- -L "core|conformance|engine|remote"
fi
ctest --output-on-failure --timeout 1200 "$@"
