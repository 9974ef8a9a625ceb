#!/usr/bin/env python3
"""Goldens for the weighted seed proof from gonka-ai/vllm's own reference implementation of the
deterministic-sampling contract (vllm/v1/sample/deterministic_utils.py: Sha256CounterRNG, uint64_below,
logprobs_to_weights, decimal_sample_from_logprobs), loaded from the pinned checkout that run.sh extracts
(stdlib only: hashlib, struct, decimal). Inputs are difr's: float32 logprobs written with repr() as the
contract's executor writes them, temperatures, top-k, top-p and min-p in combination, ties, logprobs of
-9999 (Gonka's -inf clamp) and seeds of the form "<chain seed>|i".

usage: detsample_cases.py PATH/TO/deterministic_utils.py > detsample.json"""
import importlib.util
import json
import random
import struct
import sys

spec = importlib.util.spec_from_file_location("deterministic_utils", sys.argv[1])
du = importlib.util.module_from_spec(spec)
sys.modules["deterministic_utils"] = du  # dataclasses look their module up
spec.loader.exec_module(du)

rng = random.Random(1448)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


out = {"u64": [], "below": [], "weights": []}
for seed in ("reference_seed_v1", "", "a|0", "é|7"):
    out["u64"].append({"seed": seed, "values": [str(v) for v in du.iter_u64(seed, 6)]})
for n in (1, 2, 3, 5, 7, 1000, 65536, 2**63 + 1, 2**64 - 1):
    r = du.Sha256CounterRNG.from_seed_string("below-" + str(n))
    vals = [du.uint64_below(r, n) for _ in range(4)]
    out["below"].append({"seed": "below-" + str(n), "n": str(n), "values": [str(v) for v in vals], "counter": r.counter})

params = [("1.0", None, None, None), ("0.6", "0.8", 20, None), ("0.7", None, 5, None), ("1.5", "0.95", None, None),
          ("1.0", None, None, "0.05"), ("0.3", "0.9", 3, "0.1"), ("2.0", None, 1, None), ("1.0", "0.5", 50, None),
          ("0.949999988079071", "0.949999988079071", 20, None)]
for case in range(120):
    k = rng.choice([1, 2, 3, 5, 8, 20, 40])
    ids = rng.sample(range(0, 151936), k)
    lps = sorted((-abs(rng.gauss(0, rng.choice([0.5, 2.0, 6.0]))) for _ in range(k)), reverse=True)
    if case % 17 == 3 and k > 2:
        lps[1] = lps[2]  # a tie
    if case % 23 == 5:
        lps[-1] = -9999.0
    logprobs = {str(i): repr(f32(lp) if case % 2 == 0 else lp) for i, lp in zip(ids, lps)}
    t, tp, tk, mp = params[case % len(params)]
    seed = du.hashlib.sha256(str(case).encode()).hexdigest() + "|" + str(case % 300)
    w = du.logprobs_to_weights(logprobs, t, top_p=tp, top_k=tk, min_p=mp)
    r = du.Sha256CounterRNG.from_seed_string(seed)
    tok = du.decimal_sample_from_logprobs(logprobs, r, t, top_p=tp, top_k=tk, min_p=mp)
    out["weights"].append({"logprobs": logprobs, "temperature": t, "top_p": tp, "top_k": tk, "min_p": mp,
                           "seed": seed, "weights": w, "sampled": tok, "counter": r.counter})
json.dump(out, sys.stdout, indent=1)
