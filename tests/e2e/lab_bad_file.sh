#!/usr/bin/env bash
# A bad lab file is an input error (exit 2) whose message names the file and the key, before anything runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# lab_file NAME: a valid small lab file, to be spoiled by the caller; prints its path.
lab_file() {
    cat >"$WORK/$1.toml" <<TOML
reference = "smollm2-135m-instruct-q4_1"
prompts = "$ROOT/data/prompts/lab.jsonl"
n_prompts = 2
max_tokens = 4
[claimed]
temperature = 1.0
top_k = 50
top_p = 0.95
seed = 42
[[configs]]
name = "reference"
kind = "reference"
TOML
    echo "$WORK/$1.toml"
}

f=$(lab_file kind)
printf '[[configs]]\nname = "odd"\nkind = "quantise"\ntype = "Q4_0"\n' >>"$f"
expect_error 2 "kind.toml: key 'configs\[1\].kind': unknown configuration kind 'quantise' \(known: reference, engine, quantize" \
    -- "$DIFR" lab "$f" --out "$WORK/o1"

f=$(lab_file missing)
sed -i '/^reference = /d' "$f"
expect_error 2 "missing.toml: key 'reference': missing \(required\)" -- "$DIFR" lab "$f" --out "$WORK/o2"

f=$(lab_file nomodel)
sed -i 's/^reference = .*/reference = "no-such-model"/' "$f"
expect_error 2 "nomodel.toml: key 'reference': model 'no-such-model' is neither a file nor a cached model" \
    -- "$DIFR" lab "$f" --out "$WORK/o3"

f=$(lab_file othermodel)
printf '[[configs]]\nname = "other"\nkind = "model"\nmodel = "/nonexistent.gguf"\n' >>"$f"
expect_error 2 "othermodel.toml: key 'configs\[1\].model': model '/nonexistent.gguf' is neither" \
    -- "$DIFR" lab "$f" --out "$WORK/o4"

f=$(lab_file type)
sed -i 's/^max_tokens = 4/max_tokens = "four"/' "$f"
expect_error 2 "type.toml: key 'max_tokens': expected an integer, got a string" -- "$DIFR" lab "$f" --out "$WORK/o5"

f=$(lab_file cfgtype)
printf '[[configs]]\nname = "hot"\nkind = "temperature"\nvalue = "high"\n' >>"$f"
expect_error 2 "cfgtype.toml: key 'configs\[1\].value': expected a number, got a string" \
    -- "$DIFR" lab "$f" --out "$WORK/o6"

f=$(lab_file unknown)
printf '[[configs]]\nname = "q"\nkind = "quantize"\ntype = "Q4_0"\nbits = 4\n' >>"$f"
expect_error 2 "unknown.toml: key 'configs\[1\].bits': unknown key" -- "$DIFR" lab "$f" --out "$WORK/o7"

f=$(lab_file dup)
printf '[[configs]]\nname = "reference"\nkind = "seed"\nvalue = 1\n' >>"$f"
expect_error 2 "dup.toml: key 'configs\[1\].name': 'reference' is used twice" -- "$DIFR" lab "$f" --out "$WORK/o8"

f=$(lab_file syntax)
printf 'n_prompts = = 3\n' >>"$f"
expect_error 2 "syntax.toml:[0-9]+:[0-9]+: TOML syntax error" -- "$DIFR" lab "$f" --out "$WORK/o9"

expect_error 2 "cannot read lab file '$WORK/none.toml'" -- "$DIFR" lab "$WORK/none.toml" --out "$WORK/o10"

# Nothing was run for any of them.
for i in 1 2 3 4 5 6 7 8 9 10; do [ ! -e "$WORK/o$i/lab.json" ] || fail "o$i/lab.json written for a bad lab file"; done
echo "ok: no lab directory written"
