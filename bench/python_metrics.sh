#!/usr/bin/env bash
# difr_llm.token_metrics against token-difr 0.1.2's own metric code on CPU torch: the same logits, the same
# claims, the same cores (bench/python_metrics.py). Not part of the test command: it needs torch.
#   bench/python_metrics.sh [--rows J] [--vocab V] [--repeats N]
# The originals come from the pinned venv of the conformance harness (tools/conformance/requirements.txt:
# token-difr, torch, numpy), made here when missing: ${DIFR_CACHE:-~/.cache/difr}/conformance-venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

venv="$DIFR_CACHE/conformance-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import token_difr, torch' 2>/dev/null; then
    log "installing the originals (tools/conformance/requirements.txt) into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$DIFR_ROOT/tools/conformance/requirements.txt"
fi
[ -f "$DIFR_BUILD/python/difr_llm/__init__.py" ] || die "difr_llm is not built in $DIFR_BUILD/python (scripts/build.sh)"
PYTHONPATH="$DIFR_BUILD/python:$DIFR_ROOT/tools/conformance" exec "$venv/bin/python" \
    "$DIFR_ROOT/bench/python_metrics.py" "$@"
