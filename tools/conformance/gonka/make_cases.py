#!/usr/bin/env python3
"""difr's inputs for Gonka's customSimilarity: deterministic cases (random.Random(20261201)) that cover
every branch of positionDistance/customDistance/customSimilarity: matching and perturbed logprobs, tokens
the prover did not list (the m1 - (m2 - m1) fallback), one-entry prover lists (m2 = m1 - 100), duplicate
tokens (a Go map keeps the last), validator lists longer or shorter than the prover's, N below, at and
above 100, a validation longer than the original, an empty list (the error path: 0), distances large
enough to clamp at 0, logprobs of 0, -1e-12, -9999 and -1e300 (inf and NaN inside the sum), and text
tokens with non-ASCII characters. Prints the case list as JSON (completionapi.Logprob's field names)."""
import json
import random
import sys

rng = random.Random(20261201)
VOCAB = ["the", " a", " an", "Hello", "é", "日本", "\n", "42", " 42", "<|im_end|>", " ok", "x", "y", "z",
         " Paris", " London", "ß", "🙂", ".", ","] + [str(i) for i in range(100, 140)]


def f32(x):
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


def position(k, chosen=None, spread=3.0, as_f32=True):
    toks = rng.sample(VOCAB, k)
    lps = sorted((-abs(rng.gauss(0, spread)) for _ in range(k)), reverse=True)
    lps = [f32(x) if as_f32 else x for x in lps]
    top = [{"token": t, "logprob": lp} for t, lp in zip(toks, lps)]
    tok = chosen if chosen is not None else toks[0]
    return {"token": tok, "logprob": lps[0], "top_logprobs": top}


def perturb(pos, sigma, drop=0, add=None):
    top = [{"token": e["token"], "logprob": min(0.0, e["logprob"] + rng.gauss(0, sigma))} for e in pos["top_logprobs"]]
    for _ in range(drop):
        if len(top) > 1:
            top.pop(rng.randrange(len(top)))
    if add:
        for t in add:
            top.append({"token": t, "logprob": -abs(rng.gauss(4, 2))})
    rng.shuffle(top)
    return {"token": pos["token"], "logprob": pos["logprob"], "top_logprobs": top}


def seq(n, k, **kw):
    return [position(k, **kw) for _ in range(n)]


cases = []


def add(name, orig, val):
    cases.append({"name": name, "original": orig, "validation": val})


for n, ks in ((1, (1, 2, 3, 5, 20)), (5, (1, 2, 3, 5, 20)), (99, (3, 5)), (100, (1, 5)), (101, (5,)), (250, (3,))):
    for k in ks:
        o = seq(n, k)
        add(f"identical n={n} k={k}", o, [dict(p) for p in o])
        add(f"perturbed n={n} k={k}", o, [perturb(p, 0.05) for p in o])
        add(f"noisy n={n} k={k}", o, [perturb(p, 1.5) for p in o])
        add(f"missing n={n} k={k}", o, [perturb(p, 0.2, drop=1, add=[rng.choice(VOCAB)]) for p in o])
for k in (1, 3, 5):
    o = seq(12, k)
    add(f"validator lists longer k={k}", o, [perturb(p, 0.1, add=rng.sample(VOCAB, 3)) for p in o])
    add(f"validator lists shorter k={k}", o, [perturb(p, 0.1, drop=k - 1) for p in o])
    add(f"validation longer than original k={k}", o, [perturb(p, 0.1) for p in o] + seq(7, k))
o = seq(10, 5)
dup = []
for p in o:
    q = json.loads(json.dumps(p))
    q["top_logprobs"].append({"token": q["top_logprobs"][0]["token"], "logprob": -7.25})
    dup.append(q)
add("duplicate tokens in the prover's lists", dup, [perturb(p, 0.1) for p in o])
add("duplicate tokens in the validator's lists", o, dup)
o = seq(20, 3)
add("every validator token unknown to the prover", o,
    [{"token": p["token"], "logprob": p["logprob"], "top_logprobs": [{"token": "zz" + str(i), "logprob": -1.0 - i} for i in range(3)]} for p in o])
# Each validator entry adds at most 1/2, so only validator lists much longer than the prover's k can push
# the distance past 1: the prover lists 1 token, the validator 20 others, for 120 positions.
add("clamped at zero (validator lists 20x the prover's k)", seq(120, 1, spread=0.01),
    [{"token": "v", "logprob": -0.5, "top_logprobs": [{"token": "w" + str(i), "logprob": -30.0 - i} for i in range(20)]}
     for _ in range(120)])
o = seq(12, 5)
edge = []
for i, p in enumerate(o):
    q = json.loads(json.dumps(p))
    vals = [0.0, -1e-12, -9999.0, -1e300, -5e-324]
    q["top_logprobs"][i % 5]["logprob"] = vals[i % 5]
    edge.append(q)
add("extreme logprobs in the prover's lists", edge, [perturb(p, 0.1) for p in o])
add("extreme logprobs in the validator's lists", o, edge)
o = seq(10, 3)
empty = [perturb(p, 0.1) for p in o]
empty[4]["top_logprobs"] = []
add("an empty validator list (error: 0)", o, empty)
add("single position, k=1, unknown token", seq(1, 1), seq(1, 1))
o = seq(100, 3, as_f32=False)
add("float64 logprobs n=100 k=5", o, [perturb(p, 0.01) for p in o])

json.dump(cases, sys.stdout, ensure_ascii=False)
