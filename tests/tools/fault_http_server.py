#!/usr/bin/env python3
"""An HTTP(S) server for one file that misbehaves on request, for testing importers.

Usage: fault_http_server.py FILE [--tls-cert PEM --tls-key PEM] [--verbose]

Binds 127.0.0.1 on a free port and prints "PORT <n>" as its first line on stdout, then serves
FILE over HTTP/1.1 with keep-alive (HTTPS when --tls-cert/--tls-key are given) until killed.

Every URL path is a chain of fault modes followed by any name, which is ignored:

    /ok/disk.img                      the file, with HEAD and single byte-range support
    /no-range/drop/1048576/1/x.img    modes compose left to right

Request counters are kept per full path, so a test can run several independent scenarios
against one server by varying the trailing name (/503/2/a, /503/2/b, ...).

Modes:
  /ok/                          no fault.
  /404/                         404 Not Found.
  /403/                         403 Forbidden.
  /503/<count>/                 the first <count> requests (any method) get 503, then the rest
                                of the chain applies.
  /auth/<user>/<pass>/          HTTP Basic authentication is required; 401 otherwise.
  /header/<name>/<value>/       the request must carry header <name> with exactly <value>;
                                400 otherwise.
  /head-405/                    HEAD is refused with 405 Method Not Allowed.
  /no-range/                    Range headers are ignored: always 200 with the full body, and
                                no Accept-Ranges header.
  /drop/<after-bytes>/<count>/  the first <count> GET responses whose body is longer than
                                <after-bytes> send that many body bytes, then reset the
                                connection (TCP RST).
  /stall/<after-bytes>/<seconds>/<count>/
                                the first <count> GET responses whose body is longer than
                                <after-bytes> send that many body bytes, pause for <seconds>,
                                then send the rest.
  /wrong-length/<count>/        the first <count> GET requests without a Range header announce
                                the full Content-Length but send only half the body, then close
                                the connection cleanly (a short body).
  /redirect/<n>/                302 to the same path with <n> - 1 (at 0 the rest of the chain
                                applies), so /redirect/6/ok/x is six redirects.
  /redirect-ftp/                302 to an ftp:// URL.

Ranges: "bytes=a-b", "bytes=a-" and "bytes=-n" are honoured with 206; an unsatisfiable range
gets 416 with "Content-Range: bytes */<size>"; several ranges get the full body (200).
Python 3 standard library only.
"""

import argparse
import base64
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Mode name -> number of path segments it takes as arguments.
MODE_ARGS = {
    "ok": 0,
    "404": 0,
    "403": 0,
    "503": 1,
    "auth": 2,
    "header": 2,
    "head-405": 0,
    "no-range": 0,
    "drop": 2,
    "stall": 3,
    "wrong-length": 1,
    "redirect": 1,
    "redirect-ftp": 0,
}


class Counters:
    """Thread-safe counters keyed by (path, mode position in the chain)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}

    def take(self, key, limit):
        """Counts one use of `key`; True while the count is still within `limit`."""
        with self._lock:
            used = self._counts.get(key, 0)
            if used >= limit:
                return False
            self._counts[key] = used + 1
            return True


def parse_chain(path):
    """Splits a URL path into [(mode, args)] and reports whether it parsed."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    chain = []
    i = 0
    while i < len(segments) and segments[i] in MODE_ARGS:
        name = segments[i]
        count = MODE_ARGS[name]
        args = segments[i + 1 : i + 1 + count]
        if len(args) != count:
            return None
        chain.append((name, args, i))
        i += 1 + count
    return chain


def parse_range(header, size):
    """Returns (first, last) for a satisfiable single range, "unsatisfiable", or None."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    spec = header[len("bytes=") :].strip()
    first_text, sep, last_text = spec.partition("-")
    if not sep:
        return None
    try:
        if first_text == "":
            suffix = int(last_text)
            if suffix <= 0:
                return "unsatisfiable"
            return (max(0, size - suffix), size - 1) if size > 0 else "unsatisfiable"
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return "unsatisfiable"
    return (first, min(last, size - 1))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-http-server"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_HEAD(self):
        self.handle_request(head=True)

    def do_GET(self):
        self.handle_request(head=False)

    def send_status(self, code, extra_headers=()):
        body = ("%d %s\n" % (code, self.responses.get(code, ("",))[0])).encode()
        self.send_response(code)
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_request(self, head):
        chain = parse_chain(self.path)
        if chain is None:
            self.send_status(400)
            return
        counters = self.server.counters
        ranges = True
        drop = stall = short = None
        for name, args, position in chain:
            key = (self.path, position)
            if name == "404":
                self.send_status(404)
                return
            if name == "403":
                self.send_status(403)
                return
            if name == "503":
                if counters.take(key, int(args[0])):
                    self.send_status(503)
                    return
            elif name == "auth":
                expected = base64.b64encode(("%s:%s" % (args[0], args[1])).encode()).decode()
                if self.headers.get("Authorization", "") != "Basic " + expected:
                    self.send_status(401, [("WWW-Authenticate", 'Basic realm="test"')])
                    return
            elif name == "header":
                if self.headers.get(args[0]) != args[1]:
                    self.send_status(400)
                    return
            elif name == "head-405":
                if head:
                    self.send_status(405, [("Allow", "GET")])
                    return
            elif name == "no-range":
                ranges = False
            elif name == "drop":
                drop = (int(args[0]), int(args[1]), key)
            elif name == "stall":
                stall = (int(args[0]), float(args[1]), int(args[2]), key)
            elif name == "wrong-length":
                short = (int(args[0]), key)
            elif name == "redirect":
                hops = int(args[0])
                if hops > 0:
                    segments = self.path.split("/")
                    index = 1 + position + 1  # "" before the first "/", then the chain
                    segments[index] = str(hops - 1)
                    self.send_status(302, [("Location", "/".join(segments))])
                    return
            elif name == "redirect-ftp":
                self.send_status(302, [("Location", "ftp://127.0.0.1/file")])
                return
        self.send_file(head, ranges, drop, stall, short)

    def send_file(self, head, ranges, drop, stall, short):
        size = self.server.size
        requested = self.headers.get("Range") if ranges else None
        byte_range = parse_range(requested, size) if requested else None
        if byte_range == "unsatisfiable":
            self.send_status(416, [("Content-Range", "bytes */%d" % size)])
            return
        if byte_range is None:
            first, last, code = 0, size - 1, 200
        else:
            (first, last), code = byte_range, 206
        length = last - first + 1
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.end_headers()
        if head or length == 0:
            return
        counters = self.server.counters
        if drop and length > drop[0] and counters.take(drop[2], drop[1]):
            self.send_body(first, drop[0])
            self.reset_connection()
            return
        if stall and length > stall[0] and counters.take(stall[3], stall[2]):
            self.send_body(first, stall[0])
            time.sleep(stall[1])
            self.send_body(first + stall[0], length - stall[0])
            return
        if short and requested is None and counters.take(short[1], short[0]):
            self.send_body(first, length // 2)
            self.close_connection = True
            return
        self.send_body(first, length)

    def send_body(self, offset, count):
        if count <= 0:
            return
        try:
            with open(self.server.file_path, "rb") as f:
                if isinstance(self.connection, ssl.SSLSocket):
                    f.seek(offset)
                    while count > 0:
                        chunk = f.read(min(count, 1 << 20))
                        if not chunk:
                            break
                        self.connection.sendall(chunk)
                        count -= len(chunk)
                else:
                    self.connection.sendfile(f, offset, count)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def reset_connection(self):
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        # Closing here also skips socketserver's shutdown(SHUT_WR), which would send a FIN first.
        self.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.connection.close()
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None

    def handle_error(self, request, client_address):
        # Clients giving up mid-transfer or refusing the certificate are part of the tests.
        if self.verbose:
            super().handle_error(request, client_address)

    def get_request(self):
        sock, address = super().get_request()
        if self.tls:
            # The handshake happens on the handler's thread, so a client that gives up on it
            # (an untrusted certificate) cannot hold up the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()

    server = Server(("127.0.0.1", 0), Handler)
    server.file_path = options.file
    server.size = os.path.getsize(options.file)
    server.counters = Counters()
    server.verbose = options.verbose
    if options.tls_cert:
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(options.tls_cert, options.tls_key)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
