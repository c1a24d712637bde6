"""Fixtures that run the real vdisk binary and drive it with the real kubectl."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

VDISK_BIN = os.environ.get("VDISK_BIN", os.path.join(os.path.dirname(__file__), "../../build/vdisk"))
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
EXAMPLES = os.path.join(os.path.dirname(__file__), "../../../shared/spec/examples")


class Vdisk:
    """One `vdisk serve` process on a free loopback port, with its own data dir."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.kubeconfig = os.path.join(data_dir, "kubeconfig")
        self.cache_dir = os.path.join(data_dir, "kubectl-cache")
        self.log_path = os.path.join(data_dir, "vdisk.log")
        self.proc = None
        self.url = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [VDISK_BIN, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--node-name", "node01"],
            stdout=subprocess.PIPE, stderr=log)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError("vdisk did not start: " + open(self.log_path).read())
        self.url = line.split()[-1]
        return self

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


@pytest.fixture
def vdisk():
    data_dir = tempfile.mkdtemp(prefix="vdisk-e2e-")
    server = Vdisk(data_dir).start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_vdisk():
    """One server for a module whose tests do not interfere with each other."""
    data_dir = tempfile.mkdtemp(prefix="vdisk-e2e-")
    server = Vdisk(data_dir).start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def wait_for(predicate, timeout=20, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
