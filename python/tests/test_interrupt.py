"""The GIL is released while difr works, and Ctrl-C (SIGINT) stops a long verification promptly, keeping the
sequences already finished."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from conftest import python_script
from difr_llm import token_metrics

LONG_VERIFY = r"""
import sys, time
import difr_llm
from difr_llm import TokenSequence, verify_outputs
model = difr_llm.load_model(threads=1, parallel=2, batch=128)
# 48 sequences of 6 + 250 tokens: about a minute on one core, far longer than the test waits.
seqs = [TokenSequence([1, 2, 3, 4, 5, 6 + i], [(17 * k + i) % 40000 + 100 for k in range(250)]) for i in range(48)]
print("started", flush=True)
try:
    verify_outputs(seqs, model, temperature=1.0, top_k=50, top_p=0.95, seed=42, verbose=False, out_dir=sys.argv[1])
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
"""


def test_ctrl_c_stops_verify_outputs(tmp_path):
    env_code = LONG_VERIFY
    proc = subprocess.Popen([sys.executable, "-c", env_code, str(tmp_path / "out")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60  # until the first sequence is written, so something must be kept
    tokens = tmp_path / "out/tokens.jsonl"
    while time.monotonic() < deadline and not (tokens.exists() and tokens.stat().st_size > 0):
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    lines = out.split()
    assert lines[0] == "interrupted", (out, err)
    latency = float(lines[1]) - sent
    print(f"verify_outputs: KeyboardInterrupt {latency:.3f} s after SIGINT")  # shown with pytest -s
    assert latency < 5.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT"
    rows = [json.loads(l) for l in tokens.read_text().splitlines()]
    finished = sorted({r["seq"] for r in rows})
    assert finished == list(range(len(finished))) and len(finished) < 48
    assert len(rows) == 250 * len(finished)  # whole sequences only
    assert not (tmp_path / "out/summary.json").exists()


def test_ctrl_c_stops_token_metrics():
    code = r"""
import time
import numpy as np
from difr_llm import token_metrics
row = np.random.default_rng(1).standard_normal(151936).astype(np.float32)
logits = np.broadcast_to(row, (200000, row.size))  # rows share memory: hours of work, no memory
print("started", flush=True)
try:
    token_metrics(logits, np.zeros(200000, dtype=np.int64), temperature=1.0, top_k=50, top_p=0.95, seed=1,
                  noise="torch-cpu")
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    lines = out.split()
    assert lines and lines[0] == "interrupted", (out, err)
    print(f"token_metrics: KeyboardInterrupt {float(lines[1]) - sent:.3f} s after SIGINT")
    assert float(lines[1]) - sent < 2.0


def test_the_gil_is_released_while_scoring():
    row = np.random.default_rng(2).standard_normal(151936).astype(np.float32)
    logits = np.broadcast_to(row, (1500, row.size))
    done = threading.Event()

    def work():
        token_metrics(logits, np.zeros(1500, dtype=np.int64), temperature=1.0, top_k=50, top_p=0.95, seed=1,
                      noise="torch-cpu")
        done.set()

    t = threading.Thread(target=work)
    t.start()
    spins = 0
    while not done.is_set():
        spins += 1  # pure Python: runs only while the worker does not hold the GIL
    t.join()
    # Held for the whole call, the GIL would leave this loop a handful of turns; released, it spins freely.
    assert spins > 10000, spins


def test_signal_handlers_that_do_not_raise_do_not_stop_the_work():
    code = r"""
import signal, os, threading, numpy as np
from difr_llm import token_metrics
seen = []
signal.signal(signal.SIGUSR1, lambda *a: seen.append(1))
row = np.random.default_rng(1).standard_normal(151936).astype(np.float32)
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()
m = token_metrics(np.broadcast_to(row, (800, row.size)), np.zeros(800, dtype=np.int64), temperature=1.0,
                  top_k=50, top_p=0.95, seed=1, noise="torch-cpu")
print(len(m.exact_match), len(seen))
"""
    p = python_script(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["800", "1"]
