#!/usr/bin/env python3
"""A provider that adds its own system prompt: an OpenAI-compatible proxy in front of another endpoint.

Usage: system_prompt_proxy.py PORT_FILE UPSTREAM_BASE_URL SYSTEM_PROMPT

Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, and forwards POST /v1/chat/completions to
UPSTREAM_BASE_URL/chat/completions after putting {"role": "system", "content": SYSTEM_PROMPT} before the
request's messages (replacing a system message the client sent, as a provider that overrides it would). The
upstream answer (status and body) is passed back unchanged, so the client sees an ordinary provider.
"""
import json
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

from loopback import serve_on_free_port

UPSTREAM = sys.argv[2].rstrip("/")
SYSTEM = sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.reply(404, b'{"error": "only /v1/chat/completions"}')
            return
        req = json.loads(raw)
        msgs = [m for m in req.get("messages", []) if m.get("role") != "system"]
        req["messages"] = [{"role": "system", "content": SYSTEM}] + msgs
        up = urllib.request.Request(UPSTREAM + "/chat/completions", data=json.dumps(req).encode(),
                                    headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(up, timeout=300) as r:
                self.reply(r.status, r.read())
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.read())


def main():
    serve_on_free_port(Handler, sys.argv[1])


if __name__ == "__main__":
    main()
