"""Fixtures that run the real vdisk binary and drive it with the real kubectl."""
import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid

import pytest
import yaml

VDISK_BIN = os.environ.get("VDISK_BIN", os.path.join(os.path.dirname(__file__), "../../build/vdisk"))
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
EXAMPLES = os.path.join(os.path.dirname(__file__), "../../../shared/spec/examples")


class Vdisk:
    """One `vdisk serve` process on a free loopback port, with its own data dir."""

    def __init__(self, data_dir, extra_args=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.kubeconfig = os.path.join(data_dir, "kubeconfig")
        self.cache_dir = os.path.join(data_dir, "kubectl-cache")
        self.log_path = os.path.join(data_dir, "vdisk.log")
        self.proc = None
        self.url = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [VDISK_BIN, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--node-name", "node01", *self.extra_args],
            stdout=subprocess.PIPE, stderr=log)
        # The address line is the contract; anything else vdisk prints on stdout before it goes
        # to the log, and stdout keeps being drained so the server never blocks on the pipe.
        while True:
            line = self.proc.stdout.readline().decode()
            if not line or line.startswith("listening on "):
                break
            log.write(line.encode())
            log.flush()
        if not line.startswith("listening on "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("vdisk did not start: " + open(self.log_path).read())
        self.url = line.split()[-1]
        threading.Thread(target=self._drain_stdout, args=(self.proc.stdout, log),
                         daemon=True).start()
        return self

    @staticmethod
    def _drain_stdout(stream, log):
        for line in stream:
            try:
                log.write(line)
                log.flush()
            except ValueError:  # log closed
                return

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def env(self):
        env = dict(os.environ)
        env["KUBECONFIG"] = self.kubeconfig
        env["KUBECACHEDIR"] = self.cache_dir
        return env

    def kubectl(self, *args, input=None, check=True, timeout=60, env=None):
        """Runs kubectl against this server; returns the CompletedProcess (text)."""
        full_env = self.env()
        if env:
            full_env.update(env)
        result = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True,
                                env=full_env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    # ---- conveniences (added for the test modules) ----

    def restart(self):
        """Stops the server (SIGTERM) and starts it again on the same data dir; returns the exit
        code of the stopped process."""
        code = self.stop()
        self.start()
        return code

    @property
    def token(self):
        with open(self.kubeconfig) as f:
            return yaml.safe_load(f)["users"][0]["user"]["token"]

    @property
    def ca_path(self):
        return os.path.join(self.data_dir, "pki", "ca.crt")

    def create(self, obj, *args, check=True):
        """`kubectl create -f -` of one manifest (a dict or YAML text)."""
        text = obj if isinstance(obj, str) else json.dumps(obj)
        return self.kubectl("create", "-f", "-", *args, input=text, check=check)

    def apply(self, obj, *args, check=True):
        """`kubectl apply -f -` of one manifest (a dict or YAML text)."""
        text = obj if isinstance(obj, str) else json.dumps(obj)
        return self.kubectl("apply", "-f", "-", *args, input=text, check=check)

    def exists(self, *args):
        """Whether `kubectl get ARGS` finds the object (NotFound -> False; other errors raise)."""
        r = self.kubectl("get", *args, "-o", "name", check=False)
        if r.returncode == 0:
            return True
        if "NotFound" in r.stderr:
            return False
        raise AssertionError(f"kubectl get {' '.join(args)} failed: {r.stderr}")

    def create_namespace(self, name):
        """Creates a namespace from a manifest (JSON), the way `kubectl create -f` does."""
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def popen(self, *args, env=None):
        """Starts a long-running kubectl (e.g. `get -w`); read its stdout with a LineReader."""
        full_env = self.env()
        if env:
            full_env.update(env)
        return subprocess.Popen([KUBECTL, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=full_env)


@contextlib.contextmanager
def running_vdisk(*extra_args):
    """A `vdisk serve` on a fresh data dir for the length of a with-block."""
    data_dir = tempfile.mkdtemp(prefix="vdisk-e2e-")
    server = Vdisk(data_dir, extra_args)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def vdisk():
    with running_vdisk() as server:
        yield server


@pytest.fixture(scope="module")
def shared_vdisk():
    """One server for a module whose tests do not interfere with each other."""
    with running_vdisk() as server:
        yield server


def wait_for(predicate, timeout=20, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def unique(prefix):
    """A fresh DNS-1123 name: prefix plus a short random suffix."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class LineReader:
    """Collects the lines a subprocess prints, without blocking the test on a read."""

    def __init__(self, stream):
        self.lines = []
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _drain(self, timeout):
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return False
        if line is None:
            self._queue.put(None)  # keep reporting EOF
            return False
        self.lines.append(line)
        return True

    def wait_for_line(self, predicate, timeout=10, what="a line"):
        """Returns the first line (seen so far or arriving) that satisfies predicate."""
        seen = 0
        deadline = time.time() + timeout
        while True:
            for line in self.lines[seen:]:
                if predicate(line):
                    return line
            seen = len(self.lines)
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; got lines: {self.lines!r}")
            self._drain(min(left, 0.5))


def stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def ns(shared_vdisk):
    """A fresh namespace on the module's shared server."""
    name = unique("t")
    shared_vdisk.create_namespace(name)
    return name


# ---- disks ----

def shell(command):
    """Runs a bash command line; raises with its output when it fails."""
    subprocess.run(["bash", "-c", command], check=True, capture_output=True)


def disk_of(vdisk, pvc, ns="default"):
    """The disk.img of claim `pvc`'s volume in the default pool."""
    pv = vdisk.get_json("pvc", pvc, "-n", ns)["spec"]["volumeName"]
    return os.path.join(vdisk.data_dir, "pools", "default", "csi", pv, "disk.img")


def same_disk(a, b):
    """Fails unless raw disks `a` and `b` hold the same guest bytes (qemu-img compare)."""
    subprocess.run(["qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", a, b], check=True)


class ApiWatch:
    """Records every event of one collection from the API (lists first, then watches from that
    resourceVersion, so nothing created afterwards is missed)."""

    def __init__(self, server, collection):
        self._context = ssl.create_default_context(cafile=server.ca_path)
        self._headers = {"Authorization": "Bearer " + server.token}
        self.url = server.url + collection
        self.events = []  # (type, object)
        self.error = None  # what ended the stream, if it did not end cleanly
        self._changed = threading.Condition()
        listed = self._get(self.url)
        version = listed["metadata"]["resourceVersion"]
        self._response = urllib.request.urlopen(urllib.request.Request(
            f"{self.url}?watch=1&resourceVersion={version}", headers=self._headers),
            context=self._context)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _get(self, url):
        request = urllib.request.Request(url, headers=self._headers)
        with urllib.request.urlopen(request, context=self._context) as response:
            return json.load(response)

    def _pump(self):
        try:
            for line in self._response:
                if line.strip():
                    event = json.loads(line)
                    with self._changed:
                        self.events.append((event["type"], event["object"]))
                        self._changed.notify_all()
        except Exception as error:  # noqa: BLE001  the stream ends however close() cuts it
            self.error = error

    def close(self):
        with contextlib.suppress(OSError, AttributeError):
            self._response.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        self._response.close()

    def names(self):
        return [obj["metadata"]["name"] for _, obj in self.events]

    def phases(self, name):
        """The phases one object went through, repeats collapsed."""
        seen = []
        for _, obj in list(self.events):
            phase = obj.get("status", {}).get("phase")
            if obj["metadata"]["name"] == name and phase and (not seen or seen[-1] != phase):
                seen.append(phase)
        return seen

    def progress(self, name):
        """The status.progress values one object showed, in order."""
        return [obj["status"]["progress"] for _, obj in list(self.events)
                if obj["metadata"]["name"] == name and "progress" in obj.get("status", {})]

    def wait(self, predicate, timeout):
        """Waits until predicate(object) holds for an event's object; returns that object."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for _, obj in self.events[seen:]:
                    if predicate(obj):
                        return obj
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
