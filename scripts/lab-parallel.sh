#!/usr/bin/env bash
# Runs a lab's configurations N at a time (one `difr lab` per configuration, each on the lab file's thread
# count), then analyses everything that has finished as one lab. On a machine with C cores and a one-thread
# lab file, -j C keeps every core busy; `difr lab` alone runs one configuration after another.
#   scripts/lab-parallel.sh LAB.toml OUT [-j N (default: nproc)] [--merge]
# Configurations are taken in the lab file's order. Each runs, niced, into OUT/cfg/<name> (a resumable lab
# directory of its own, not analysed on its own: `difr lab --no-analysis`; its log is OUT/cfg/<name>.log);
# OUT itself is then the merged lab (lab.toml of the finished configurations, runs/ symlinked, results.md/json,
# report.html; scripts/lab_merge.py). Run it again to resume after a stop; --merge only analyses what has
# finished (while the workers still run, say).
# The workers are niced in a session of their own, whose autogroup is niced too: with the kernel's
# autogroups on (Debian's default), plain `nice` only orders processes within one login session.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 2 ] || die "usage: scripts/lab-parallel.sh LAB.toml OUT [-j N] [--merge]"
TOML=$1 OUT=$2
shift 2
JOBS=$(nproc) MERGE_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        -j) JOBS=$2; shift 2 ;;
        --merge) MERGE_ONLY=1; shift ;;
        *) die "unknown option '$1'" ;;
    esac
done
[ -f "$TOML" ] || die "$TOML: no such lab file"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "-j: expected a positive integer, got '$JOBS'"
DIFR="${DIFR:-$DIFR_BUILD/bin/difr}"
[ -x "$DIFR" ] || die "$DIFR: not built (bash scripts/build.sh)"
"$DIFR" lab --help >/dev/null

# One lab file per configuration, with the prompts as an absolute path.
split_lab() {
    mkdir -p "$OUT/split" "$OUT/cfg"
    python3 "$DIFR_ROOT/scripts/lab_merge.py" --split "$TOML" "$OUT/split"
}

# A worker claims the next unclaimed configuration (mkdir is atomic) until the queue is empty.
worker() {
    echo 19 >/proc/self/autogroup 2>/dev/null || true
    while read -r name; do
        mkdir "$OUT/split/$name.claim" 2>/dev/null || continue
        local rc=0
        nice -n 19 "$DIFR" lab "$OUT/split/$name.toml" --out "$OUT/cfg/$name" --no-analysis >"$OUT/cfg/$name.log" 2>&1 || rc=$?
        echo "$(date -u +%FT%TZ) $name: difr lab exited $rc" >>"$OUT/split/log"
    done <"$OUT/split/queue"
}

merge() {
    local dst="$OUT/merged.tmp"
    rm -rf "$dst"
    mkdir -p "$dst/runs"
    python3 "$DIFR_ROOT/scripts/lab_merge.py" "$TOML" "$dst" "$OUT"/cfg/*/
    # The merged lab replaces the previous one: lab.toml, lab.json, runs/ (symlinks), then the analysis.
    rm -rf "$OUT/runs"
    mv "$dst/runs" "$OUT/runs"
    mv "$dst/lab.toml" "$dst/lab.json" "$OUT/"
    rmdir "$dst"
    "$DIFR" lab "$OUT/lab.toml" --out "$OUT" | tail -n 2
}

if [ "$MERGE_ONLY" = 0 ]; then
    split_lab
    rm -rf "$OUT"/split/*.claim  # claims of an earlier, stopped run: its configurations resume
    log "running $(wc -l <"$OUT/split/queue") configurations of $TOML, $JOBS at a time, into $OUT/cfg (log: $OUT/split/log)"
    export -f worker
    export OUT DIFR
    pids=()
    for _ in $(seq "$JOBS"); do
        setsid bash -c worker &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
fi
merge
log "results: $OUT/results.md, $OUT/report.html"
