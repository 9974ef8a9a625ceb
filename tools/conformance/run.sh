#!/usr/bin/env bash
# Conformance with the original implementations (issue #3, docs/conformance.md).
#
#   tools/conformance/run.sh                 regenerate every golden, run the conformance tests, write the table
#   tools/conformance/run.sh --only torch-cpu    regenerate one golden (names: see make_goldens.py)
#   tools/conformance/run.sh --report-only   keep the committed goldens; just test and rewrite the table
#
# The originals (pinned in requirements.txt) go into a virtualenv outside the repository:
# ${DIFR_CACHE:-$HOME/.cache/difr}/conformance-venv. torch's PyPI wheel brings its CUDA libraries along (~5 GB);
# nothing here uses a GPU: Triton runs vLLM's kernel in its interpreter (TRITON_INTERPRET=1) on the CPU.
# CI never runs this: it only reads the committed goldens.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${DIFR_BUILD_DIR:-$root/build}
goldens=$root/tests/data/conformance

report_only=0
args=()
for a in "$@"; do
    if [ "$a" = --report-only ]; then report_only=1; else args+=("$a"); fi
done

if [ "$report_only" = 0 ]; then
    venv=${DIFR_CACHE:-$HOME/.cache/difr}/conformance-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    export DIFR_CONFORMANCE_COMMAND="tools/conformance/run.sh${*:+ $*}"
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}  # nothing here needs more; keep the machine usable
    (cd "$root" && "$venv/bin/python" "$here/make_goldens.py" --out "$goldens" ${args[@]+"${args[@]}"})
fi

lock=()
command -v flock >/dev/null && lock=(flock /tmp/difr-build.lock)  # other builds may share the build folder
${lock[@]+"${lock[@]}"} cmake --build "$build" --target difr_conformance_tests -j2
python3 "$here/report.py" --tests "$build/tests/difr_conformance_tests" --goldens "$goldens" \
    --out "$root/docs/conformance.md"
