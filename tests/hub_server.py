#!/usr/bin/env python3
"""hub_server.py — a Hugging Face Hub on two loopback ports, for tests/test_hub.sh.

The first port answers GET /{repo}/resolve/main/{file} as the Hub does: small files with
200 and their bytes; model.safetensors with a 302 to the second port, carrying the file's
sha256 in X-Linked-Etag and its size in X-Linked-Size. The second port serves the bytes,
honours Range, and can misbehave as --mode says:

  ok       as the Hub does
  cut      the first transfer stops half-way; every redirect token works once (a resume
           must ask the resolve URL again)
  badsha   X-Linked-Etag is not the file's sha256
  html     the storage host answers with an HTML page
  404      the resolve URL answers 404
  500      the resolve URL answers 500

Writes "RESOLVE_PORT STORAGE_PORT" to --ports once listening; logs one line per request
to --log ("resolve FILE", "storage FILE range=N-", ...). Serves the folder --files as every
repository. Python's standard library only."""
import argparse
import hashlib
import http.server
import os
import secrets
import socketserver
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--files", required=True)
ap.add_argument("--mode", default="ok")
ap.add_argument("--ports", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()

LOCK = threading.Lock()
TOKENS = {}          # token -> file, for --mode cut: each works once
STATE = {"cut_done": False}
LARGE = {"model.safetensors"}


def log(line):
    with LOCK, open(args.log, "a") as f:
        f.write(line + "\n")


def data_of(name):
    p = os.path.join(args.files, name)
    if "/" in name or not os.path.isfile(p):
        return None
    with open(p, "rb") as f:
        return f.read()


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_bytes(self, code, body, ctype="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Resolve(Quiet):
    def do_GET(self):
        parts = self.path.split("/")
        # /OWNER/NAME/resolve/main/FILE
        if len(parts) != 6 or parts[3] != "resolve":
            return self.send_bytes(404, b"not found", "text/plain")
        name = parts[5]
        log("resolve " + name)
        if args.mode == "404":
            return self.send_bytes(404, b"Entry not found", "text/plain")
        if args.mode == "500":
            return self.send_bytes(500, b"Internal Error", "text/plain")
        body = data_of(name)
        if body is None:
            return self.send_bytes(404, b"Entry not found", "text/plain")
        if name not in LARGE:
            return self.send_bytes(200, body, "application/json" if name.endswith(".json") else "text/plain")
        sha = hashlib.sha256(body).hexdigest()
        if args.mode == "badsha":
            sha = "0" * 64
        token = secrets.token_hex(8)
        with LOCK:
            TOKENS[token] = name
        loc = "http://127.0.0.1:%d/blob/%s/%s" % (STORAGE_PORT, token, name)
        self.send_bytes(302, b"", "text/plain", [("Location", loc), ("X-Linked-Etag", '"%s"' % sha),
                                                  ("X-Linked-Size", str(len(body))), ("ETag", '"%s"' % sha)])


class Storage(Quiet):
    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) != 4 or parts[1] != "blob":
            return self.send_bytes(404, b"no", "text/plain")
        token, name = parts[2], parts[3]
        rng = self.headers.get("Range", "")
        log("storage %s %s" % (name, ("range=" + rng.split("=", 1)[1]) if rng else "full"))
        with LOCK:
            ok = TOKENS.get(token) == name
            if args.mode == "cut" and ok:
                del TOKENS[token]  # once only: a resume must resolve again
        if not ok:
            return self.send_bytes(403, b"<Error>Request has expired</Error>", "application/xml")
        if args.mode == "html":
            return self.send_bytes(200, b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html")
        body = data_of(name)
        start = 0
        if rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0] or 0)
            if start >= len(body):
                return self.send_bytes(416, b"", "text/plain", [("Content-Range", "bytes */%d" % len(body))])
        chunk = body[start:]
        code = 206 if start else 200
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(chunk)))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body)))
        self.end_headers()
        if args.mode == "cut" and not STATE["cut_done"]:
            STATE["cut_done"] = True
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the transfer drops half-way
            return
        self.wfile.write(chunk)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that stops reading (a full disk, Ctrl-C) is part of the tests


storage = Server(("127.0.0.1", 0), Storage)
STORAGE_PORT = storage.server_address[1]
resolve = Server(("127.0.0.1", 0), Resolve)
threading.Thread(target=storage.serve_forever, daemon=True).start()
with open(args.ports + ".tmp", "w") as f:
    f.write("%d %d\n" % (resolve.server_address[1], STORAGE_PORT))
os.rename(args.ports + ".tmp", args.ports)
resolve.serve_forever()
