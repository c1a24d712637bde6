"""Uploads (spec 9.20.9, and 9.20.10 into local Block volumes): upload DataVolumes,
UploadTokenRequest and the upload endpoints, driven with kubectl and curl (the protocol is plain
HTTP). Each uploaded disk.img or block device is compared with its source by `qemu-img compare`."""
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import Vdisk, disk_of, running_vdisk, same_disk, shell, unique, wait_for
from test_storage import local_pv, storage_class

VIRTUAL_SIZE = 24 << 20


def build_source(path):
    """A 24 MiB raw disk: random 1 MiB runs among zeros."""
    rng = random.Random(5)
    with open(path, "wb") as f:
        f.truncate(VIRTUAL_SIZE)
        for mib in (0, 3, 11, 23):
            f.seek(mib << 20)
            f.write(rng.randbytes(1 << 20))


IMAGES = {
    "raw": "cp {src} {out}",
    "qcow2": "qemu-img convert -O qcow2 {src} {out}",
    "raw-gz": "gzip -c {src} > {out}",
    "raw-xz": "xz -c -T0 {src} > {out}",
    "qcow2-xz": "qemu-img convert -O qcow2 {src} {out}.q && xz -c {out}.q > {out} && rm {out}.q",
}


@pytest.fixture(scope="module")
def images():
    work = tempfile.mkdtemp(prefix="vdisk-upload-")
    source = os.path.join(work, "source.raw")
    build_source(source)
    paths = {"source": source, "work": work}
    for name, recipe in IMAGES.items():
        paths[name] = os.path.join(work, name + ".img")
        shell(recipe.format(src=source, out=paths[name]))
    big = os.path.join(work, "big.qcow2")  # 1 GiB virtual: larger than the test volumes
    shell(f"qemu-img create -q -f qcow2 {big} 1G")
    paths["big"] = big
    try:
        yield paths
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    with running_vdisk() as vdisk:
        yield vdisk


def upload_dv(vdisk, name, size="64Mi"):
    vdisk.create({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                  "metadata": {"name": name, "namespace": "default"},
                  "spec": {"source": {"upload": {}},
                           "storage": {"resources": {"requests": {"storage": size}}}}})
    wait_for(lambda: phase(vdisk, name) == "UploadReady", what=f"{name} UploadReady")


def phase(vdisk, name):
    return vdisk.get_json("dv", name).get("status", {}).get("phase")


def token_for(vdisk, pvc):
    out = vdisk.create({"apiVersion": "upload.cdi.kubevirt.io/v1beta1",
                        "kind": "UploadTokenRequest",
                        "metadata": {"name": "token-for-" + pvc, "namespace": "default"},
                        "spec": {"pvcName": pvc}}, "-o", "json").stdout
    return json.loads(out)["status"]["token"]


def curl(vdisk, path, *args, token=None):
    """Returns (HTTP status, body)."""
    headers = ["-H", f"Authorization: Bearer {token}"] if token is not None else []
    r = subprocess.run(["curl", "-sS", "--cacert", vdisk.ca_path, "-o", "-", "-w", "\n%{http_code}",
                        *headers, *args, vdisk.url + path], capture_output=True, text=True,
                       timeout=120)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


@pytest.mark.parametrize("fmt", list(IMAGES))
@pytest.mark.parametrize("path", ["/v1beta1/upload", "/v1beta1/upload-form-async"])
def test_curl_upload(server, images, fmt, path):
    name = unique("up")
    upload_dv(server, name)
    body = (["-F", f"file=@{images[fmt]}"] if "form" in path
            else ["--data-binary", f"@{images[fmt]}"])
    code, text = curl(server, path, *body, token=token_for(server, name))
    assert code == 200, text
    wait_for(lambda: phase(server, name) == "Succeeded", what="Succeeded")
    same_disk(images["source"], disk_of(server, name))
    pvc = server.get_json("pvc", name)["metadata"]["annotations"]
    assert pvc["cdi.kubevirt.io/storage.pod.phase"] == "Succeeded"
    # A finished volume takes no second upload.
    code, _ = curl(server, "/v1beta1/upload", "--data-binary", f"@{images['raw']}",
                   token=token_for(server, name))
    assert code == 409


def test_probe_and_proxy_url(server):
    assert curl(server, "/v1beta1/upload-async", "-I")[0] == 200
    status = server.get_json("cdiconfig", "config")["status"]
    assert status["uploadProxyURL"] == server.url


def test_tokens_rejected(server, images):
    name = unique("up")
    upload_dv(server, name)
    data = ["--data-binary", f"@{images['raw']}"]
    assert curl(server, "/v1beta1/upload", *data)[0] == 400  # no token
    assert curl(server, "/v1beta1/upload", *data, "-H", "Authorization: Basic eDp5")[0] == 400
    assert curl(server, "/v1beta1/upload", *data, token="not-a-token")[0] == 400
    good = token_for(server, name)
    payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["pvc"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert curl(server, "/v1beta1/upload", *data, token=forged + "." + signature)[0] == 401
    assert curl(server, "/v1beta1/upload", *data, token=payload + ".AAAA")[0] == 401
    # A token for another claim (not accepting uploads) does not reach this one.
    assert curl(server, "/v1beta1/upload", *data, token=token_for(server, "other"))[0] == 503
    assert phase(server, name) == "UploadReady"
    assert curl(server, "/v1beta1/upload", *data, token=good)[0] == 200


def test_expired_token(images):
    data_dir = tempfile.mkdtemp(prefix="vdisk-e2e-upload-ttl-")
    os.environ["VDISK_UPLOAD_TOKEN_TTL_SECONDS"] = "1"
    try:
        vdisk = Vdisk(data_dir).start()
    finally:
        del os.environ["VDISK_UPLOAD_TOKEN_TTL_SECONDS"]
    try:
        upload_dv(vdisk, "dv")
        token = token_for(vdisk, "dv")
        time.sleep(2.1)
        code, text = curl(vdisk, "/v1beta1/upload", "--data-binary", f"@{images['raw']}",
                          token=token)
        assert code == 401 and "expired" in text
    finally:
        vdisk.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_image_larger_than_volume(server, images):
    name = unique("up")
    upload_dv(server, name)
    code, text = curl(server, "/v1beta1/upload", "--data-binary", f"@{images['big']}",
                      token=token_for(server, name))
    assert code == 400 and "A larger PVC is required" in text, text
    dv = wait_for(lambda: (lambda d: d if d["status"].get("restartCount") == 1 else None)(
        server.get_json("dv", name)), what="the failure recorded")
    assert dv["status"]["phase"] == "UploadReady"
    running = [c for c in dv["status"]["conditions"] if c["type"] == "Running"][0]
    assert "A larger PVC is required" in running["message"]


def test_killed_client_then_second_upload(server, images):
    name = unique("up")
    upload_dv(server, name)
    proc = subprocess.Popen(["curl", "-sS", "--cacert", server.ca_path, "--limit-rate", "2M",
                             "-H", f"Authorization: Bearer {token_for(server, name)}",
                             "--data-binary", f"@{images['raw']}",
                             server.url + "/v1beta1/upload"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: server.get_json("dv", name)["status"].get("progress", "N/A") != "N/A",
             what="upload progress")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_for(lambda: server.get_json("dv", name)["status"].get("restartCount") == 1,
             what="the interrupted upload recorded")
    assert phase(server, name) == "UploadReady"
    assert not os.path.exists(disk_of(server, name))  # no half-written disk
    code, text = curl(server, "/v1beta1/upload", "--data-binary", f"@{images['qcow2']}",
                      token=token_for(server, name))
    assert code == 200, text
    wait_for(lambda: phase(server, name) == "Succeeded", what="Succeeded")
    same_disk(images["source"], disk_of(server, name))


def test_upload_target_pvc(server, images):
    name = unique("pvc")
    server.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": name, "namespace": "default",
                                "annotations": {
                                    "cdi.kubevirt.io/storage.upload.target": "",
                                    "cdi.kubevirt.io/storage.bind.immediate.requested": "true"}},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "64Mi"}}}})
    annotations = lambda: server.get_json("pvc", name)["metadata"].get("annotations", {})  # noqa
    wait_for(lambda: annotations().get("cdi.kubevirt.io/storage.pod.ready") == "true",
             what="claim ready for upload")
    code, text = curl(server, "/v1beta1/upload-async", "--data-binary", f"@{images['raw-gz']}",
                      token=token_for(server, name))
    assert code == 200, text
    wait_for(lambda: annotations().get("cdi.kubevirt.io/storage.pod.phase") == "Succeeded",
             what="claim populated")
    same_disk(images["source"], disk_of(server, name))


# ---- 9.20.10 local block volumes -----------------------------------------------------------------

BLOCK_SIZE = 64 << 20  # the block volume: larger than the image, smaller than images["big"]


def fill_with_junk(path, size):
    """Non-zero bytes everywhere, so a region the upload leaves unwritten shows in the compare."""
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(b"\xa5" * (1 << 20))


@pytest.fixture
def stand_in(tmp_path):
    """A regular file standing in for a block device."""
    path = str(tmp_path / "loop10")
    fill_with_junk(path, BLOCK_SIZE)
    return path


@pytest.fixture
def loop_device(tmp_path):
    """A real loop device over a file; detached afterwards."""
    if os.geteuid() != 0 or not shutil.which("losetup") or not os.path.exists("/dev/loop-control"):
        pytest.skip("needs root, losetup and /dev/loop-control")
    backing = str(tmp_path / "loop-backing")
    fill_with_junk(backing, BLOCK_SIZE)
    attached = subprocess.run(["losetup", "-f", "--show", backing], capture_output=True,
                              text=True)
    if attached.returncode != 0:
        pytest.skip("no usable loop device: " + attached.stderr.strip())
    device = attached.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


@pytest.fixture(params=["file", "loop"])
def block_path(request):
    return request.getfixturevalue("stand_in" if request.param == "file" else "loop_device")


@pytest.fixture
def block_dv(server, block_path):
    """An upload DataVolume bound to a static local Block PV at block_path (9.20.10.4-5); yields
    its name and the path."""
    local, pv, name = unique("local"), unique("local-block-pv"), unique("up-blk")
    server.create(storage_class(local, provisioner="kubernetes.io/no-provisioner",
                                binding="WaitForFirstConsumer", reclaim="Retain"))
    server.create(local_pv(pv, block_path, "64Mi", local, mode="Block"))
    server.create({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                   "metadata": {"name": name, "namespace": "default", "annotations": {
                       "cdi.kubevirt.io/storage.bind.immediate.requested": "true"}},
                   "spec": {"source": {"upload": {}},
                            "storage": {"volumeMode": "Block", "storageClassName": local,
                                        "accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "64Mi"}}}}})
    try:
        wait_for(lambda: phase(server, name) == "UploadReady", what=f"{name} UploadReady")
        assert server.get_json("pvc", name)["spec"]["volumeName"] == pv
        yield name, block_path
    finally:
        server.kubectl("delete", "dv", name, "--wait=true", check=False)
        server.kubectl("delete", "pv", pv, check=False)
        server.kubectl("delete", "storageclass", local, check=False)


@pytest.mark.parametrize("fmt", ["qcow2", "raw-gz"])
def test_upload_into_block_volume(server, images, block_dv, fmt):
    name, device = block_dv
    code, text = curl(server, "/v1beta1/upload", "--data-binary", f"@{images[fmt]}",
                      token=token_for(server, name))
    assert code == 200, text
    wait_for(lambda: phase(server, name) == "Succeeded", what="Succeeded")
    # The device holds the image and zeros after it (qemu-img compare wants a larger image's
    # extra bytes to be zero): the junk it held before is gone.
    same_disk(images["source"], device)
    annotations = server.get_json("pvc", name)["metadata"]["annotations"]
    assert annotations["cdi.kubevirt.io/storage.pod.phase"] == "Succeeded"


def test_image_larger_than_block_volume(server, images, block_dv):
    name, device = block_dv
    code, text = curl(server, "/v1beta1/upload", "--data-binary", f"@{images['big']}",
                      token=token_for(server, name))
    assert code == 400, text
    assert f"image virtual size {1 << 30} exceeds the volume's usable size {BLOCK_SIZE}" in text
    wait_for(lambda: server.get_json("dv", name)["status"].get("restartCount") == 1,
             what="the failure recorded")
    assert phase(server, name) == "UploadReady"
    code, text = curl(server, "/v1beta1/upload", "--data-binary", f"@{images['qcow2']}",
                      token=token_for(server, name))
    assert code == 200, text
    wait_for(lambda: phase(server, name) == "Succeeded", what="Succeeded")
    same_disk(images["source"], device)


# ---- connections -----------------------------------------------------------------------------

@pytest.mark.parametrize("body_size", [4 << 10, VIRTUAL_SIZE], ids=["sent-whole", "cut-short"])
def test_refused_upload_does_not_poison_its_connection(server, images, body_size):
    """A request refused before its body is read closes its connection, so the unread body is
    not taken for the next request: here it is made of requests, which a kept-alive connection
    would answer in place of the real second one. curl sends a small body whole before it reads
    the answer and then reuses the connection unless told to close it; a large one it stops
    sending when the answer arrives."""
    name = unique("up")
    upload_dv(server, name)
    refused = os.path.join(images["work"], f"refused-{body_size}")
    with open(refused, "wb") as f:
        f.write(b"GET /version HTTP/1.1\r\n\r\n" * (body_size // 25))
    common = ["-sS", "--cacert", server.ca_path, "-o", "/dev/null", "-w",
              "%{http_code} %{num_connects}\n"]
    r = subprocess.run(["curl", *common, "--data-binary", f"@{refused}",
                        server.url + "/v1beta1/upload", "--next",
                        *common, "-H", f"Authorization: Bearer {token_for(server, name)}",
                        "--data-binary", f"@{images['qcow2']}", server.url + "/v1beta1/upload"],
                       capture_output=True, text=True, timeout=120)
    first, second = r.stdout.split("\n")[:2]
    assert first.split()[0] == "400", r.stdout + r.stderr
    assert second == "200 1", r.stdout + r.stderr  # on a new connection
    wait_for(lambda: phase(server, name) == "Succeeded", what="Succeeded")
    same_disk(images["source"], disk_of(server, name))


def test_connection_after_an_upload_serves_the_next_request(server, images):
    """A body read to its end leaves the kept-alive connection at the next request: curl sends a
    second upload on the same connection and gets the answer to it, 409 (already done)."""
    name = unique("up")
    upload_dv(server, name)
    token = token_for(server, name)
    request = ["-sS", "--cacert", server.ca_path, "-o", "/dev/null", "-w",
               "%{http_code} %{num_connects}\n", "-H", f"Authorization: Bearer {token}",
               "--data-binary", f"@{images['qcow2']}", server.url + "/v1beta1/upload"]
    r = subprocess.run(["curl", *request, "--next", *request], capture_output=True, text=True,
                       timeout=120)
    first, second = r.stdout.split("\n")[:2]
    assert first == "200 1", r.stdout + r.stderr
    assert second == "409 0", r.stdout + r.stderr  # the same connection, reused
    same_disk(images["source"], disk_of(server, name))
