"""Shared by the e2e test servers: serve a handler on a free 127.0.0.1 port and announce the port."""
import os
from http.server import ThreadingHTTPServer


def serve_on_free_port(handler, port_file):
    """Binds 127.0.0.1:0, writes the port to port_file whole (written, then renamed) and serves forever."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()
