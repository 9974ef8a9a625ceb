#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build, and run the whole test suite (unit, engine, end to end).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L core`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash "$DIFR_ROOT/scripts/deps.sh"
bash "$DIFR_ROOT/scripts/build.sh"
bash "$DIFR_ROOT/scripts/smoke.sh"
cd "$DIFR_BUILD"
ctest --output-on-failure --timeout 1200 "$@"
