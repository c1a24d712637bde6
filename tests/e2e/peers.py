"""Real peers the import tests talk to: nginx over HTTP and HTTPS, a certificate authority of
the test's own, and the fault-injecting HTTP server. Each binds loopback only."""
import os
import socket
import subprocess
import time

FAULT_SERVER = os.path.join(os.path.dirname(__file__), "../tools/fault_http_server.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def make_ca(directory):
    """A CA and a server certificate for 127.0.0.1 and localhost that it signed; returns
    (ca_pem_path, cert_path, key_path)."""
    ca_key, ca_crt = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    key, csr, crt = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out",
        ca_crt, "-days", "2", "-subj", "/CN=vdisk test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
        "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


class Nginx:
    """nginx serving `root` over HTTP (`/private/` behind basic auth) and HTTPS."""

    def __init__(self, workdir, root, cert, key, user, password):
        self.workdir, self.root = workdir, root
        self.http_port, self.https_port = free_port(), free_port()
        htpasswd = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                                  capture_output=True, text=True).stdout.strip()
        with open(os.path.join(workdir, "htpasswd"), "w") as f:
            f.write(f"{user}:{htpasswd}\n")
        temp = os.path.join(workdir, "temp")
        os.makedirs(temp, exist_ok=True)
        user_line = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user_line}
daemon off;
worker_processes 2;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  sendfile on;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{self.http_port};
    root {root};
    location /private/ {{
      auth_basic "vdisk test";
      auth_basic_user_file {workdir}/htpasswd;
    }}
  }}
  server {{
    listen 127.0.0.1:{self.https_port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
  }}
}}
"""
        self.conf = os.path.join(workdir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.workdir],
                                     stderr=subprocess.PIPE)
        wait_for_port(self.http_port, self.proc)
        wait_for_port(self.https_port, self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, name, tls=False):
        if tls:
            return f"https://127.0.0.1:{self.https_port}/{name}"
        return f"http://127.0.0.1:{self.http_port}/{name}"


class FaultServer:
    """tests/tools/fault_http_server.py serving one file; fault modes are path prefixes."""

    def __init__(self, path):
        self.proc = subprocess.Popen(["python3", FAULT_SERVER, path], stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"fault server did not start: {line!r}")
        self.port = int(line.split()[1])

    def url(self, modes, name="image"):
        """The URL for a chain of fault modes, e.g. url("503/2"). Request counters are per
        path, so scenarios that must not share them use different names."""
        return f"http://127.0.0.1:{self.port}/{modes.strip('/')}/{name}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
