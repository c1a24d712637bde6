"""`vdisk image-upload` (spec 9.20.9): the upload client, driven as a user would, against a real
`vdisk serve`. Each uploaded disk is compared with its source by `qemu-img compare`."""
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import yaml

from conftest import VDISK_BIN, disk_of, running_vdisk, same_disk, shell, unique, wait_for

MiB = 1 << 20
VIRTUAL_SIZE = 24 * MiB


IMAGES = {
    "raw": "cp {src} {out}",
    "qcow2": "qemu-img convert -O qcow2 {src} {out}",
    "raw-gz": "gzip -c {src} > {out}",
    "raw-xz": "xz -c -T0 {src} > {out}",
}


@pytest.fixture(scope="module")
def images():
    work = tempfile.mkdtemp(prefix="vdisk-image-upload-")
    source = os.path.join(work, "source.raw")
    with open(source, "wb") as f:
        f.truncate(VIRTUAL_SIZE)
        for mib in (0, 5, 17, 23):
            f.seek(mib * MiB)
            f.write(os.urandom(MiB))
    paths = {"source": source, "work": work}
    for name, recipe in IMAGES.items():
        paths[name] = os.path.join(work, name + ".img")
        shell(recipe.format(src=source, out=paths[name]))
    # An ISO 9660 image of a directory tree, uploaded as it is.
    tree = os.path.join(work, "iso-tree")
    os.makedirs(tree)
    with open(os.path.join(tree, "payload.bin"), "wb") as f:
        f.write(os.urandom(3 * MiB))
    paths["iso"] = os.path.join(work, "disk.iso")
    shell(f"genisoimage -quiet -r -o {paths['iso']} {tree}")
    paths["big"] = os.path.join(work, "big.qcow2")  # 1 GiB virtual: larger than the volumes
    shell(f"qemu-img create -q -f qcow2 {paths['big']} 1G")
    try:
        yield paths
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    with running_vdisk() as vdisk:
        yield vdisk


def image_upload(server, *args, env=None, timeout=120):
    """Runs `vdisk image-upload ARGS` with the server's kubeconfig in KUBECONFIG."""
    full_env = server.env()
    full_env.update(env or {})
    return subprocess.run([VDISK_BIN, "image-upload", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def phase(server, name, ns="default"):
    return server.get_json("dv", name, "-n", ns).get("status", {}).get("phase")


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "raw-gz", "raw-xz"])
def test_uploads_each_format_into_a_new_datavolume(server, images, fmt):
    name = unique("iu")
    r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images[fmt]}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"DataVolume default/{name} created" in r.stdout
    assert f"DataVolume default/{name}: upload succeeded" in r.stdout
    # A raw file's holes are not sent: only its 4 MiB of data, in a qcow2 stream.
    assert ("sending its 4.0 MiB of data as a sparse qcow2 stream" in r.stdout) == (fmt == "raw")
    # Not a terminal: plain progress lines, the last one complete.
    progress = [line for line in r.stdout.splitlines() if line.startswith("uploaded ")]
    assert progress and "(100%)" in progress[-1], r.stdout
    assert phase(server, name) == "Succeeded"
    same_disk(images["source"], disk_of(server, name))


def test_uploads_an_iso(server, images):
    name = unique("iu-iso")
    r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['iso']}")
    assert r.returncode == 0, r.stdout + r.stderr
    disk = disk_of(server, name)
    iso_size = os.path.getsize(images["iso"])
    with open(disk, "rb") as f, open(images["iso"], "rb") as iso:
        assert f.read(iso_size) == iso.read()


def test_pvc_kind_namespace_and_explicit_kubeconfig(server, images):
    ns = unique("iu-ns")
    server.create_namespace(ns)
    name = unique("iu-pvc")
    # --kubeconfig wins over a KUBECONFIG that points nowhere useful.
    r = image_upload(server, "pvc", name, "-n", ns, "--size=64Mi",
                     f"--image-path={images['qcow2']}", f"--kubeconfig={server.kubeconfig}",
                     env={"KUBECONFIG": "/nonexistent/kubeconfig"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"PersistentVolumeClaim {ns}/{name}: upload succeeded" in r.stdout
    pvc = server.get_json("pvc", name, "-n", ns)
    annotations = pvc["metadata"]["annotations"]
    assert "cdi.kubevirt.io/storage.upload.target" in annotations
    assert annotations["cdi.kubevirt.io/storage.pod.phase"] == "Succeeded"
    same_disk(images["source"], disk_of(server, name, ns))


def test_namespace_from_the_kubeconfig_context(server, images, tmp_path):
    ns = unique("iu-ctx")
    server.create_namespace(ns)
    with open(server.kubeconfig) as f:
        config = yaml.safe_load(f)
    config["contexts"][0]["context"]["namespace"] = ns
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    name = unique("iu")
    r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['raw-gz']}",
                     env={"KUBECONFIG": f"/nonexistent:{kubeconfig}"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert phase(server, name, ns) == "Succeeded"


def test_no_create_and_existing_volumes(server, images):
    name = unique("iu-existing")
    server.create({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                   "metadata": {"name": name, "namespace": "default"},
                   "spec": {"source": {"upload": {}},
                            "storage": {"resources": {"requests": {"storage": "64Mi"}}}}})
    r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['raw']}")
    assert r.returncode == 1
    assert f"DataVolume default/{name} already exists; pass --no-create" in r.stderr
    r = image_upload(server, "dv", name, "--no-create", f"--image-path={images['raw']}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Using existing DataVolume default/{name}" in r.stdout
    same_disk(images["source"], disk_of(server, name))
    # A volume that is done takes no second image.
    r = image_upload(server, "dv", name, "--no-create", f"--image-path={images['raw']}")
    assert r.returncode == 1
    assert "already holds an uploaded image" in r.stderr
    # --no-create needs the volume to exist, and to be an upload volume.
    r = image_upload(server, "dv", unique("missing"), "--no-create",
                     f"--image-path={images['raw']}")
    assert r.returncode == 1 and "not found" in r.stderr
    blank = unique("iu-blank")
    server.create({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                   "metadata": {"name": blank, "namespace": "default"},
                   "spec": {"source": {"blank": {}},
                            "storage": {"resources": {"requests": {"storage": "16Mi"}}}}})
    r = image_upload(server, "dv", blank, "--no-create", f"--image-path={images['raw']}")
    assert r.returncode == 1 and "is not an upload DataVolume" in r.stderr


def test_bad_arguments_name_the_flag(server, images):
    r = image_upload(server, "dv", unique("iu"), f"--image-path={images['raw']}")
    assert r.returncode == 1 and "--size is required" in r.stderr
    r = image_upload(server, "dv", unique("iu"), "--size=lots", f"--image-path={images['raw']}")
    assert r.returncode == 1 and "--size" in r.stderr
    r = image_upload(server, "dv", unique("iu"), "--size=1Gi", "--image-path=/no/such/image")
    assert r.returncode == 1 and "--image-path" in r.stderr
    r = image_upload(server, "vm", unique("iu"), "--size=1Gi", f"--image-path={images['raw']}")
    assert r.returncode != 0 and "kind" in r.stderr
    r = image_upload(server, "dv", unique("iu"), "--size=1Gi", "--volume-mode=tape",
                     f"--image-path={images['raw']}")
    assert r.returncode != 0 and "--volume-mode" in r.stderr
    r = image_upload(server, "dv", unique("iu"), "--size=1Gi", f"--image-path={images['raw']}",
                     env={"KUBECONFIG": "/nonexistent/kubeconfig"})
    assert r.returncode == 1 and "kubeconfig" in r.stderr
    help_text = subprocess.run([VDISK_BIN, "--help"], capture_output=True, text=True).stdout
    assert "image-upload" in help_text


def test_image_larger_than_the_volume_fails_with_the_reason(server, images):
    name = unique("iu-big")
    r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['big']}")
    assert r.returncode == 1
    assert "the upload was refused" in r.stderr and "larger" in r.stderr, r.stderr
    # Nothing was written, and the volume takes a fitting image next.
    assert phase(server, name) == "UploadReady"
    r = image_upload(server, "dv", name, "--no-create", f"--image-path={images['qcow2']}")
    assert r.returncode == 0, r.stdout + r.stderr
    same_disk(images["source"], disk_of(server, name))


def test_killed_client_then_second_upload(server, images):
    """The client dies mid-body (the image comes through a pipe, so it stops where the test
    says); the DataVolume is ready again, and a second run completes it."""
    name = unique("iu-killed")
    fifo = os.path.join(images["work"], name + ".fifo")
    os.mkfifo(fifo)
    client = subprocess.Popen([VDISK_BIN, "image-upload", "dv", name, "--size=64Mi",
                               f"--image-path={fifo}"], env=server.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(fifo, "wb") as pipe, open(images["raw"], "rb") as src:
        pipe.write(src.read(6 * MiB))  # returns once the client has taken nearly all of it
        pipe.flush()
        wait_for(lambda: f"upload into default/{name} started" in open(server.log_path).read(),
                 timeout=30, what="the upload to start")
        client.send_signal(signal.SIGKILL)
        client.wait()
    wait_for(lambda: phase(server, name) == "UploadReady", timeout=30, what="UploadReady again")
    r = image_upload(server, "dv", name, "--no-create", f"--image-path={images['raw-xz']}")
    assert r.returncode == 0, r.stdout + r.stderr
    same_disk(images["source"], disk_of(server, name))


class DropFirstConnectionProxy:
    """A TCP proxy on loopback to `target_port` that cuts its first connection after `cut`
    bytes from the client, and forwards every later one whole."""

    def __init__(self, target_port, cut):
        self.target_port, self.cut = target_port, cut
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            limit = self.cut if self.connections == 1 else None
            threading.Thread(target=self._serve, args=(client, limit), daemon=True).start()

    def _serve(self, client, limit):
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        sent = 0
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 60)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(1 << 16)
                    if not data:
                        return
                    other = upstream if sock is client else client
                    if sock is client:
                        sent += len(data)
                        if limit is not None and sent > limit:
                            return
                    other.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self):
        self.listener.close()


def test_retries_a_broken_connection(server, images):
    port = int(server.url.rsplit(":", 1)[1])
    proxy = DropFirstConnectionProxy(port, cut=4 * MiB)
    try:
        name = unique("iu-retry")
        # Another host:port than the API's: its certificate is not checked (--insecure).
        r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['raw']}",
                         f"--uploadproxy-url=https://127.0.0.1:{proxy.port}", "--insecure")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Upload attempt 1 failed" in r.stdout
        assert proxy.connections >= 2
        same_disk(images["source"], disk_of(server, name))
    finally:
        proxy.close()


def test_upload_endpoint_certificate_is_verified(server, images):
    """Without --insecure, an endpoint elsewhere is checked against the system's CAs, which do
    not know vdisk's own CA."""
    port = int(server.url.rsplit(":", 1)[1])
    proxy = DropFirstConnectionProxy(port, cut=None)
    try:
        name = unique("iu-tls")
        r = image_upload(server, "dv", name, "--size=64Mi", f"--image-path={images['raw']}",
                         f"--uploadproxy-url=https://127.0.0.1:{proxy.port}")
        assert r.returncode == 1
        assert "certificate" in r.stderr.lower(), r.stderr
    finally:
        proxy.close()


def test_wait_for_first_consumer_needs_force_bind(server, images):
    """A bare claim of a WaitForFirstConsumer class waits for a consumer; --force-bind binds it
    at once. (A DataVolume's claim is consumed by the node's populator, so it binds anyway.)"""
    sc = unique("iu-wffc")
    server.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": sc}, "provisioner": "kubevirt.io.hostpath-provisioner",
                   "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"})
    waiting = unique("iu-wffc")
    r = image_upload(server, "pvc", waiting, "--size=64Mi", f"--storage-class={sc}",
                     "--wait-secs=2", f"--image-path={images['raw']}")
    assert r.returncode == 1
    assert "timed out after 2 s" in r.stderr and "--force-bind" in r.stderr, r.stderr
    r = image_upload(server, "pvc", unique("iu-wffc"), "--size=64Mi", f"--storage-class={sc}",
                     "--force-bind", f"--image-path={images['raw']}")
    assert r.returncode == 0, r.stdout + r.stderr
    bound = unique("iu-wffc")
    r = image_upload(server, "dv", bound, "--size=64Mi", f"--storage-class={sc}",
                     "--force-bind", "--access-mode=ReadWriteOnce",
                     f"--image-path={images['qcow2']}")
    assert r.returncode == 0, r.stdout + r.stderr
    dv = server.get_json("dv", bound)
    assert dv["metadata"]["annotations"]["cdi.kubevirt.io/storage.bind.immediate.requested"] \
        == "true"
    assert dv["spec"]["storage"]["accessModes"] == ["ReadWriteOnce"]
    same_disk(images["source"], disk_of(server, bound))


def test_block_volume_on_a_local_pv(server, images, tmp_path):
    """9.20.10: --volume-mode=block into a static local Block PV (a file standing in for the
    device)."""
    sc = unique("iu-local")
    server.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": sc}, "provisioner": "kubernetes.io/no-provisioner",
                   "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"})
    device = tmp_path / "block-device"
    with open(device, "wb") as f:
        f.truncate(64 * MiB)
    pv = unique("iu-block-pv")
    server.create({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
                   "spec": {"capacity": {"storage": "64Mi"}, "accessModes": ["ReadWriteOnce"],
                            "volumeMode": "Block", "persistentVolumeReclaimPolicy": "Retain",
                            "storageClassName": sc, "local": {"path": str(device)},
                            "nodeAffinity": {"required": {"nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "kubernetes.io/hostname",
                                                       "operator": "In",
                                                       "values": ["node01"]}]}]}}}})
    name = unique("iu-block")
    r = image_upload(server, "dv", name, "--size=64Mi", "--volume-mode=block",
                     f"--storage-class={sc}", "--force-bind", f"--image-path={images['qcow2']}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert server.get_json("pvc", name)["spec"]["volumeName"] == pv
    prefix = tmp_path / "prefix.raw"
    with open(device, "rb") as f:
        prefix.write_bytes(f.read(VIRTUAL_SIZE))
    same_disk(images["source"], str(prefix))


def test_progress_bar_on_a_terminal(server, images):
    name = unique("iu-tty")
    master, slave = pty.openpty()
    client = subprocess.Popen([VDISK_BIN, "image-upload", "dv", name, "--size=64Mi",
                               f"--image-path={images['raw']}"], env=server.env(),
                              stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    output = b""
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif client.poll() is not None:
            break
    os.close(master)
    assert client.wait(timeout=30) == 0, output
    text = output.decode(errors="replace")
    # Redrawn in place: a carriage return, the bar, the size and the rate.
    assert "\r" in text and "[" + "=" * 30 + "] 100%" in text, text
    assert re.search(r"(\d+\.\d MiB) / \1 \[", text) and "/s" in text, text
    same_disk(images["source"], disk_of(server, name))
