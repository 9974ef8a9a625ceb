#!/usr/bin/env bash
# TOPLOC goldens from the PyPI package toploc 0.1.6 (issue #13, docs/conformance.md "TOPLOC"). On demand only:
# CI reads the committed goldens.
#
#   tools/conformance/toploc_run.sh     regenerate tests/data/conformance/toploc.json with the package, check that
#                                       the package verifies proofs built by `difr toploc build` (both
#                                       directions), then run difr's TOPLOC conformance tests
#
# The package and its torch go into ${DIFR_CACHE:-$HOME/.cache/difr}/toploc-venv, outside the repository.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${DIFR_BUILD_DIR:-$root/build}
venv=${DIFR_CACHE:-$HOME/.cache/difr}/toploc-venv

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/toploc_requirements.txt"

lock=()
command -v flock >/dev/null && lock=(flock /tmp/difr-build.lock)  # other builds may share the build folder
${lock[@]+"${lock[@]}"} cmake --build "$build" --target difr difr_conformance_tests -j2

export DIFR_CONFORMANCE_COMMAND="tools/conformance/toploc_run.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
(cd "$root" && "$venv/bin/python" "$here/toploc_goldens.py" --out "$root/tests/data/conformance/toploc.json" \
    --difr "$build/bin/difr")
"$build/tests/difr_conformance_tests" --gtest_filter='Toploc*'
