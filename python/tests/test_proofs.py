"""The validators against the command line on the same inputs: `difr validate` (artifacts), `difr toploc
build|verify` (TOPLOC proofs over activations) and `difr verify --fingerprints` (activation fingerprints and
TOPLOC proofs of generated tokens). Honest inputs pass, tampered ones fail, and every number equals the CLI's."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

import difr_llm
from conftest import ROOT, SAMPLED, THREADS, read_jsonl, run_difr
from difr_llm import TokenSequence, ToplocThresholds, toploc_build, toploc_verify, validate_artifact, verify_outputs

# ---------------------------------------------------------------------------------------------- artifacts


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """An honest artifact with a weighted seed proof (difr generate --artifact) and a copy with position 3's
    token replaced by another of its top-k list (its logprob moved with it, so Gonka's similarity still holds)."""
    work = tmp_path_factory.mktemp("artifacts")
    honest = work / "honest.json"
    run_difr("generate", "-p", "Explain photosynthesis in one sentence.", "-n", "12", "--temperature", "0.8",
             "--top-k", "20", "--seed", "7", "-t", str(THREADS), "--artifact", str(honest),
             "--seed-proof", "weighted", "-o", str(work / "gen.json"))
    a = json.loads(honest.read_text())
    p = a["sequences"][0]["positions"][3]
    other = next(t for t in p["top"] if t[0] != p["token"])
    p["token"], p["logprob"] = other
    tampered = work / "tampered.json"
    tampered.write_text(json.dumps(a))
    return {"honest": honest, "tampered": tampered, "work": work}


def cli_validate(*args: str) -> dict:
    return json.loads(run_difr("validate", *args).stdout)


def test_validate_equals_cli(artifacts, embedded):
    for name in ("honest", "tampered"):
        want = cli_validate("--artifact", str(artifacts[name]), "-t", str(THREADS), "--joint-threshold", "-5",
                            "--difr-threshold", "0.5")
        got = validate_artifact(artifacts[name], embedded, joint_threshold=-5, difr_threshold=0.5)
        # The threshold sources name the option each side was given; everything else is the same.
        for r in (want, got):
            r.pop("thresholds", None)
            for s in r["sequences"]:
                for c in s["checks"].values():
                    if isinstance(c, dict):
                        c.pop("threshold_source", None)
            for c in r.get("pooled", {}).values():
                if isinstance(c, dict):
                    c.pop("threshold_source", None)
        assert got == want, name
    honest = validate_artifact(artifacts["honest"], embedded, joint_threshold=-5, difr_threshold=0.5)
    checks = honest["sequences"][0]["checks"]
    assert checks["seed_proof"]["verdict"] == "honest" and checks["seed_proof"]["positions_checked"] == 12
    assert checks["gonka_similarity"]["value"] == 1.0 and checks["joint_probability"]["decision"] == "pass"
    assert checks["token_difr"]["decision"] == "pass" and checks["token_difr"]["threshold_source"] == "difr_threshold"
    tampered = validate_artifact(artifacts["tampered"], embedded, joint_threshold=-5)
    seed = tampered["sequences"][0]["checks"]["seed_proof"]
    assert seed["verdict"] == "fraud" and seed["first_mismatch"] == 3


def test_validate_against_offline_equals_cli(artifacts):
    for name in ("honest", "tampered"):
        want = cli_validate("--artifact", str(artifacts[name]), "--against", str(artifacts["honest"]))
        got = validate_artifact(artifacts[name], against=artifacts["honest"])
        assert got == want, name
    assert validate_artifact(artifacts["honest"], against=artifacts["honest"])["gonka_similarity"] == 1.0


def test_validate_bad_input(artifacts, embedded, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(artifacts["honest"].read_text()[:-10])
    with pytest.raises(ValueError, match="bad.json: malformed JSON"):
        validate_artifact(bad, against=artifacts["honest"])
    with pytest.raises(ValueError, match="unknown Gonka preset 'main' \\(known: mainnet, pr132, testnet\\)"):
        validate_artifact(artifacts["honest"], embedded, gonka_preset="main")
    with pytest.raises(ValueError, match="unknown noise profile 'vllm-9'"):
        validate_artifact(artifacts["honest"], embedded, noise="vllm-9")
    with pytest.raises(ValueError, match="difr_threshold must lie in \\[0, 1\\]"):
        validate_artifact(artifacts["honest"], embedded, difr_threshold=2)


# -------------------------------------------------------------------------------------------------- TOPLOC


@pytest.fixture(scope="module")
def toploc_case(tmp_path_factory):
    """toploc 0.1.6's own proofs of SmolLM activations (the conformance golden) and the same activations with
    1e-2 jitter, as .npz files for the command line and as arrays of bf16 bits for the package."""
    g = json.loads((ROOT / "tests/data/conformance/toploc.json").read_text())
    c = next(c for c in g["cases"] if c["name"] == "smollm_dbs32_k128")
    jitter = next(v for v in c["verify"] if v["name"] == "jitter_1e-2")
    work = tmp_path_factory.mktemp("toploc")

    def arrays(acts):
        return [np.frombuffer(base64.b64decode(a["bf16"]), dtype="<u2").reshape(a["shape"]) for a in acts]

    out = {"proofs": c["proofs"], "package_jitter": jitter["cpp"], "work": work}
    for name, acts in (("prover", c["activations"]), ("jitter", jitter["activations"])):
        out[name] = arrays(acts)
        np.savez(work / f"{name}.npz", **{f"a{i}": a for i, a in enumerate(out[name])})
    (work / "proofs.txt").write_text("\n".join(c["proofs"]) + "\n")
    return out


TL = dict(topk=128, decode_batching_size=32, skip_prefill=True)
TL_ARGS = ["--topk", "128", "--decode-batching-size", "32", "--skip-prefill"]


def test_toploc_build_equals_package_and_cli(toploc_case):
    work = toploc_case["work"]
    cli = run_difr("toploc", "build", "--activations", str(work / "prover.npz"), *TL_ARGS).stdout.split()
    assert cli == toploc_case["proofs"]
    assert toploc_build(toploc_case["prover"], **TL) == toploc_case["proofs"]
    assert toploc_build(work / "prover.npz", **TL) == toploc_case["proofs"]
    # float32 activations are rounded to bf16 as the npz reader rounds them: the same proofs.
    as_f32 = [(a.astype(np.uint32) << 16).view(np.float32) for a in toploc_case["prover"]]
    assert toploc_build(as_f32, **TL) == toploc_case["proofs"]


def cli_toploc_verify(activations: Path, proofs: Path) -> tuple[int, list[dict]]:
    p = run_difr("toploc", "verify", "--activations", str(activations), "--proofs", str(proofs), *TL_ARGS,
                 check=False)
    return p.returncode, [json.loads(line) for line in p.stdout.splitlines()]


def test_toploc_verify_equals_cli(toploc_case):
    work = toploc_case["work"]
    # Honest: the prover's own activations, every chunk exact.
    rc, want = cli_toploc_verify(work / "prover.npz", work / "proofs.txt")
    got = toploc_verify(toploc_case["prover"], toploc_case["proofs"], **TL)
    assert rc == 0 and got == want and len(got) == len(toploc_case["proofs"]) >= 2
    assert all(r["pass"] and r["exp_mismatches"] == 0 and r["mant_err_mean"] == 0 for r in got)
    # Jittered activations: the package's own C++-path numbers, and the command line's.
    rc, want = cli_toploc_verify(work / "jitter.npz", work / "proofs.txt")
    got = toploc_verify(work / "jitter.npz", work / "proofs.txt", **TL)
    assert got == want
    assert [[r["exp_mismatches"], r["mant_err_mean"], r["mant_err_median"]] for r in got] == \
        toploc_case["package_jitter"]
    # Tampered: chunk 1's proof from another chunk's activations fails, and only it.
    proofs = list(toploc_case["proofs"])
    proofs[1] = proofs[0]
    (work / "swapped.txt").write_text("\n".join(proofs) + "\n")
    rc, want = cli_toploc_verify(work / "prover.npz", work / "swapped.txt")
    got = toploc_verify(toploc_case["prover"], proofs, **TL)
    assert rc == 1 and got == want
    assert [r["pass"] for r in got] == [c != 1 for c in range(len(proofs))]
    # Thresholds: strict enough, the jittered chunks fail.
    strict = ToplocThresholds(max_exp_mismatches=0, max_mant_err_mean=0.0, max_mant_err_median=0.0)
    assert not any(r["pass"] for r in toploc_verify(toploc_case["jitter"], toploc_case["proofs"], **TL,
                                                        thresholds=strict))


def test_toploc_bad_input(toploc_case):
    with pytest.raises(ValueError, match="1 proofs for 3 chunks"):
        toploc_verify(toploc_case["prover"], toploc_case["proofs"][:1], **TL)
    null = list(toploc_case["proofs"])
    null[2] = base64.b64encode(bytes(258)).decode()
    with pytest.raises(ValueError, match="proof 2: modulus 0: a null proof"):
        toploc_verify(toploc_case["prover"], null, **TL)
    with pytest.raises(ValueError, match="proof 0: invalid base64 character"):
        toploc_verify(toploc_case["prover"], ["!!!!"] + null[1:], **TL)
    with pytest.raises(ValueError, match="fewer than topk"):
        toploc_build(toploc_case["prover"], topk=20000, decode_batching_size=32, skip_prefill=True)
    with pytest.raises(TypeError, match="activations\\[1\\]: dtype must be uint16"):
        toploc_build([toploc_case["prover"][0], np.zeros(576, dtype=np.int64)], **TL)
    with pytest.raises(ValueError, match="semantics must be 'cpp' or 'python'"):
        toploc_verify(toploc_case["prover"], toploc_case["proofs"], **TL, semantics="rust")


# -------------------------------------------------------------------------------------------- fingerprints


@pytest.fixture(scope="module")
def proved(tmp_path_factory) -> dict[str, Path]:
    """Three prompts x 40 tokens generated with fingerprints (k = 8) and TOPLOC proofs (16 tokens per chunk),
    and two tampered copies of the proofs file: sequence 0's fingerprint of token 5 changed, and sequence 1's
    second TOPLOC proof replaced by its first."""
    work = tmp_path_factory.mktemp("proved")
    prompts = work / "prompts.jsonl"
    prompts.write_text("".join((ROOT / "data/prompts/default.jsonl").read_text().splitlines(True)[:3]))
    gen = work / "gen.json"
    run_difr("generate", "--prompts", str(prompts), "--max-tokens", "40", "--temperature", "1", "--seed", "42",
             "--top-k", "50", "--top-p", "0.95", "-t", str(THREADS), "--fingerprint", "8", "--toploc",
             "--toploc-chunk", "16", "-o", str(gen))
    fp = Path(str(gen) + ".fingerprints.jsonl")
    lines = [json.loads(x) for x in fp.read_text().splitlines()]
    f = bytearray(base64.b64decode(lines[1]["fingerprint"]))
    f[5 * 8 * 2 + 1] ^= 0x08  # an exponent bit of token 5's first f16 value
    lines[1]["fingerprint"] = base64.b64encode(bytes(f)).decode()
    (work / "fp_tampered.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    lines = [json.loads(x) for x in fp.read_text().splitlines()]
    lines[2]["toploc"][1] = lines[2]["toploc"][0]
    (work / "toploc_tampered.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {"gen": gen, "honest": fp, "fp_tampered": work / "fp_tampered.jsonl",
            "toploc_tampered": work / "toploc_tampered.jsonl", "work": work}


def cli_proof_checks(proved, name: str) -> dict:
    out = proved["work"] / f"cli_{name}"
    p = run_difr("verify", "-i", str(proved["gen"]), "-o", str(out), "-t", str(THREADS), "--temperature", "1",
                 "--top-k", "50", "--top-p", "0.95", "--seed", "42", "--fingerprints", str(proved[name]),
                 check=False)
    summary = json.loads((out / "summary.json").read_text())["provenance"]
    return {"rc": p.returncode, "fingerprints": summary["fingerprints"], "toploc": summary["toploc"],
            "tokens": read_jsonl(out / "fingerprints.jsonl"), "chunks": read_jsonl(out / "toploc.jsonl")}


@pytest.mark.parametrize("name", ["honest", "fp_tampered", "toploc_tampered"])
def test_fingerprints_equal_cli(proved, embedded, tmp_path, name):
    want = cli_proof_checks(proved, name)
    seqs = [TokenSequence.from_dict(s) for s in json.loads(proved["gen"].read_text())]
    r = verify_outputs(seqs, embedded, **SAMPLED, verbose=False, fingerprints=proved[name], out_dir=tmp_path)
    f, t = dict(r.fingerprints), dict(r.toploc)
    l2, relative, results = f.pop("l2"), f.pop("relative"), t.pop("results")
    assert f == want["fingerprints"] and t == want["toploc"]
    assert [{"seq": i, "pos": j, "l2": float(a), "relative": float(b)}
            for i, (la, ra) in enumerate(zip(l2, relative)) for j, (a, b) in enumerate(zip(la, ra))] == \
        [{k: x[k] for k in ("seq", "pos", "l2", "relative")} for x in want["tokens"]]
    assert results == want["chunks"]
    for out in ("fingerprints.jsonl", "toploc.jsonl"):
        assert (tmp_path / out).read_bytes() == (proved["work"] / f"cli_{name}" / out).read_bytes()
    n_chunks = 3 * 3  # 40 tokens in chunks of 16, three sequences
    if name == "honest":
        assert want["rc"] == 0 and f["l2_max"] == 0.0 and f["tokens"] == 120
        assert t["passed"] == t["chunks"] == n_chunks and t["max_exp_mismatches"] == 0
    elif name == "fp_tampered":
        bad = [(i, j) for i, la in enumerate(l2) for j, a in enumerate(la) if a > 0]
        assert bad == [(0, 5)] and t["passed"] == n_chunks
    else:
        assert want["rc"] == 1 and f["l2_max"] == 0.0
        assert [(x["seq"], x["chunk"]) for x in results if not x["pass"]] == [(1, 1)]


def test_fingerprints_bad_input(proved, embedded):
    seqs = [TokenSequence.from_dict(s) for s in json.loads(proved["gen"].read_text())]
    with pytest.raises(ValueError, match="sequence"):
        verify_outputs(seqs[:2], embedded, **SAMPLED, verbose=False, fingerprints=proved["honest"])
    with pytest.raises(ValueError, match="gen.json"):
        verify_outputs(seqs, embedded, **SAMPLED, verbose=False, fingerprints=proved["gen"])


# -------------------------------------------------------------------------------------------- noise="auto"


def test_noise_auto_equals_cli(generated, embedded, tmp_path):
    run_difr("verify", "-i", str(generated), "-o", str(tmp_path / "cli"), "-t", str(THREADS), "--temperature", "1",
             "--top-k", "50", "--top-p", "0.95", "--seed", "42", "--noise", "auto")
    seqs = [TokenSequence.from_dict(s) for s in json.loads(generated.read_text())]
    r = verify_outputs(seqs, embedded, **SAMPLED, noise="auto", verbose=False, out_dir=tmp_path / "py")
    cli = json.loads((tmp_path / "cli/summary.json").read_text())["provenance"]
    assert r.noise == cli["noise_identified"] == "vllm"  # difr generate samples with the vllm profile
    assert r.identification == cli["noise_identification"]
    assert r.identification["verdict"] == "identified"
    assert (tmp_path / "py/tokens.jsonl").read_bytes() == (tmp_path / "cli/tokens.jsonl").read_bytes()
    assert all(m.exact_match for ms in r for m in ms)
    plain = verify_outputs(seqs, embedded, **SAMPLED, verbose=False)
    assert plain.noise == "vllm" and plain.identification is None and plain.fingerprints is None
    assert [[m.to_dict() for m in ms] for ms in plain] == [[m.to_dict() for m in ms] for ms in r]
