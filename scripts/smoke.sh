#!/usr/bin/env bash
# One tiny generate + verify on the embedded model, before anything longer runs on this build. A binary that
# this CPU cannot run dies by a signal (SIGILL in a kernel it lacks); say so plainly, with the command, instead
# of letting the test suite fail later as a wrong match rate. Also checks that honest verification is exact.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
DIFR="$DIFR_BUILD/bin/difr"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {
    "$@" >"$tmp/out" 2>&1
    local rc=$?
    if [ $rc -gt 128 ]; then
        local sig
        sig=$(kill -l $((rc - 128)) 2>/dev/null || echo "$((rc - 128))")
        cat "$tmp/out" >&2
        die "smoke test: '$*' was killed by signal SIG$sig (exit $rc). This build cannot run on this machine:" \
            "see docs/engine.md, \"Build policy\" (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-))."
    elif [ $rc -ne 0 ]; then
        cat "$tmp/out" >&2
        die "smoke test: '$*' failed with exit $rc"
    fi
}

run "$DIFR" generate -p "Name three primary colours." -n 16 --temperature 1 --seed 42 --top-k 50 --top-p 0.95 \
    -o "$tmp/smoke.json"
run "$DIFR" verify -i "$tmp/smoke.json" --temperature 1 --seed 42 --top-k 50 --top-p 0.95 --fail-below 1 \
    -o "$tmp/smoke"
log "smoke test passed: generate + verify on the embedded model, honest match $(grep -o 'AuditResult([0-9.]*%' "$tmp/out" | cut -d'(' -f2)"
