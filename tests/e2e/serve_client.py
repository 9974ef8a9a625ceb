"""The HTTP client of the end-to-end tests that talk to `difr serve` (serve.sh, artifacts.sh, serve_proofs.sh):
python3's standard library (urllib), as a client would send the requests. The tests' inline scripts import it
with PYTHONPATH set to tests/e2e."""

import json
import sys
import urllib.error
import urllib.request


class Client:
    def __init__(self, port, timeout):
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout

    def call(self, method, path, body=None, raw=None):
        """(HTTP status, the answer's JSON) of METHOD PATH with BODY as JSON, or RAW bytes as they are."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def post(self, path, body):
        return self.call("POST", path, body)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)
