#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, one per parser of untrusted input) in build-asan/ and runs each for
# a fixed time on its seeds (docs/hardening.md). Every input that once crashed a target (tests/fuzz/regressions)
# is replayed first. Prints executions and crashes per target; exits 1 if any target crashed.
#
#   scripts/fuzz.sh                    every target for 5 s (the short run of scripts/test.sh)
#   scripts/fuzz.sh -t 600 -j 2        the long run: 10 minutes per target, two at a time
#   scripts/fuzz.sh -t 60 fuzz_sequences fuzz_serve_completions
#
# The corpus grows in build-asan/fuzz/corpus/TARGET across runs; crash inputs land in
# build-asan/fuzz/artifacts/TARGET and logs in build-asan/fuzz/logs/TARGET.log.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds=5
jobs=1
while getopts "t:j:" opt; do
    case $opt in
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) die "usage: scripts/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]" ;;
    esac
done
shift $((OPTIND - 1))

FUZZ_SRC="$DIFR_ROOT/tests/fuzz"
all_targets=()
for f in "$FUZZ_SRC"/fuzz_*.cpp; do all_targets+=("$(basename "$f" .cpp)"); done
targets=("$@")
[ $# -gt 0 ] || targets=("${all_targets[@]}")

asan_build "${targets[@]}"
sanitizer_env
OUT="$DIFR_BUILD_ASAN/fuzz"
mkdir -p "$OUT/corpus" "$OUT/artifacts" "$OUT/logs"

# Repository files that seed a target besides tests/fuzz/seeds/TARGET (the test data the parser reads).
repo_seeds() {
    case $1 in
        fuzz_conversations) echo data/prompts/default.jsonl data/prompts/lab.jsonl ;;
        fuzz_prompt_records) echo data/prompts/default.jsonl ;;
        fuzz_registry) echo data/registry.json ;;
        fuzz_lab_file) echo data/lab/*.toml ;;
        fuzz_artifact_lab) echo data/lab/artifacts.toml ;;
    esac
}

dict_of() {
    case $1 in
        fuzz_lab_file | fuzz_artifact_lab) echo "$FUZZ_SRC/toml.dict" ;;
        fuzz_retry_after | fuzz_noise | fuzz_npz | fuzz_toploc_proof | fuzz_detsample) echo "" ;;
        *) echo "$FUZZ_SRC/json.dict" ;;
    esac
}

run_target() {
    local t=$1 bin="$DIFR_BUILD_ASAN/fuzz/$1"
    local corpus="$OUT/corpus/$t" art="$OUT/artifacts/$t" log="$OUT/logs/$t.log"
    mkdir -p "$corpus" "$art"
    cp -n "$FUZZ_SRC/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    local f
    for f in $(cd "$DIFR_ROOT" && repo_seeds "$t"); do cp -n "$DIFR_ROOT/$f" "$corpus/repo-$(basename "$f")"; done
    # Inputs that crashed this target once: each must now pass (run once each, no mutation).
    if compgen -G "$FUZZ_SRC/regressions/$t/*" >/dev/null; then
        if ! "$bin" "$FUZZ_SRC/regressions/$t"/* >"$OUT/logs/$t.regressions.log" 2>&1; then
            echo "$t: a regression input crashes again (see $OUT/logs/$t.regressions.log)" >"$log"
            echo 1 >"$OUT/logs/$t.rc"
            return 1
        fi
    fi
    local dict
    dict=$(dict_of "$t")
    local rc=0
    nice -n 10 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$art/" ${dict:+-dict="$dict"} "$corpus" >"$log" 2>&1 || rc=$?
    echo "$rc" >"$OUT/logs/$t.rc"
}

status=0
pids=()
names=()
for t in "${targets[@]}"; do
    run_target "$t" &
    pids+=($!)
    names+=("$t")
    if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || true
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || true; done

printf '%-26s %12s %10s %8s %s\n' target executions exec/s crashes corpus
for t in "${targets[@]}"; do
    log="$OUT/logs/$t.log"
    execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -1)
    # libFuzzer exits non-zero on a crash, a leak, a timeout or running out of memory.
    crashed=0
    if [ "$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 1)" != 0 ]; then
        crashed=1
        status=1
    fi
    printf '%-26s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashed" "$(find "$OUT/corpus/$t" -type f | wc -l) inputs"
    [ "$crashed" = 0 ] || { echo "--- $log:"; grep -E -A25 'ERROR:|runtime error:|contract broken|regression|terminate' "$log" | head -60; }
done
exit $status
