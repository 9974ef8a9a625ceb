"""Shared fixtures: the difr command line (for results to compare with), the embedded model, and token
sequences the embedded model generated itself (an honest provider)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("DIFR_SOURCE_DIR") or Path(__file__).resolve().parents[2])
THREADS = 1  # the CLI and the package use the same engine settings, so their logits are the same bits; one
# thread, because on a shared 2-core machine two spinning threads wait for each other
SAMPLED = dict(temperature=1.0, top_k=50, top_p=0.95, seed=42)


def difr_bin() -> str:
    path = os.environ.get("DIFR_BIN")
    if not path or not os.path.exists(path):
        pytest.skip("DIFR_BIN is not set: these tests compare with the difr command line (run them from ctest)")
    return path


def run_difr(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([difr_bin(), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"difr {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def embedded():
    import difr_llm

    return difr_llm.load_model(threads=THREADS)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """Four default prompts x 24 tokens sampled by `difr generate` (T = 1, seed 42, top-k 50, top-p 0.95)."""
    work = tmp_path_factory.mktemp("generated")
    prompts = work / "prompts.jsonl"
    prompts.write_text("".join((ROOT / "data/prompts/default.jsonl").read_text().splitlines(True)[:4]))
    out = work / "gen.json"
    run_difr("generate", "--prompts", str(prompts), "--max-tokens", "24", "--temperature", "1", "--seed", "42",
             "--top-k", "50", "--top-p", "0.95", "-t", str(THREADS), "-o", str(out))
    return out


def python_script(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter with this one's sys.path (signals and memory are per process)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
