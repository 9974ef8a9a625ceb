#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build, and run the whole test suite (unit, engine, end to end),
# then the hardening jobs (sanitizers, a short fuzz run). Extra arguments go to ctest and skip the hardening
# jobs, e.g. `scripts/test.sh -L core`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash "$DIFR_ROOT/scripts/deps.sh"
bash "$DIFR_ROOT/scripts/build.sh"
bash "$DIFR_ROOT/scripts/smoke.sh"
cd "$DIFR_BUILD"
ctest --output-on-failure --timeout 1200 "$@"

# The hardening jobs (docs/hardening.md): the unit, conformance, engine and remote suites built with ASan + UBSan
# (leak checks on), then every fuzz target for a few seconds after replaying the inputs that once crashed it.
# Skipped when ctest arguments select a subset, or with DIFR_HARDENING=0.
if [ $# -eq 0 ] && [ "${DIFR_HARDENING:-1}" = 1 ]; then
    bash "$DIFR_ROOT/scripts/sanitize.sh"
    bash "$DIFR_ROOT/scripts/fuzz.sh" -t "${DIFR_FUZZ_SECONDS:-5}"
fi
