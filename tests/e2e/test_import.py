"""HTTP and HTTPS imports (spec 9.20.15.2), driven with kubectl against real nginx and the
fault-injecting server. Every image is built here with qemu-img, gzip, xz and zstd, served under
a name that does not reveal its format, and each imported disk.img is compared with its source
by `qemu-img compare`."""
import hashlib
import os
import random
import shutil
import struct
import subprocess
import tempfile

import pytest

from conftest import running_vdisk, shell, unique, wait_for
from peers import FaultServer, Nginx, make_ca

VIRTUAL_SIZE = 48 << 20
USER, PASSWORD = "importer", "s3cret-pass"


def run(*args):
    subprocess.run(args, check=True, capture_output=True)


def build_source(path):
    """A 48 MiB raw disk: random data in scattered 1 MiB runs, the rest zeros (sparse)."""
    rng = random.Random(20261126)
    with open(path, "wb") as f:
        f.truncate(VIRTUAL_SIZE)
        for mib in (0, 1, 5, 17, 18, 30, 47):
            f.seek(mib << 20)
            f.write(rng.randbytes(1 << 20))
        f.seek(40 << 20)
        f.write(b"vdisk" * 1000)  # a partly filled run


# name served -> how it is made from the raw source (in the images directory)
IMAGES = {
    "raw": lambda src, out: shutil.copyfile(src, out),
    "qcow2": lambda src, out: run("qemu-img", "convert", "-O", "qcow2", src, out),
    "qcow2-compressed": lambda src, out: run("qemu-img", "convert", "-c", "-O", "qcow2", src, out),
    "qcow2-zstd": lambda src, out: run("qemu-img", "convert", "-c", "-O", "qcow2", "-o",
                                       "compression_type=zstd", src, out),
    "qcow2-v2": lambda src, out: run("qemu-img", "convert", "-O", "qcow2", "-o", "compat=0.10",
                                     src, out),
    "qcow2-extended-l2": lambda src, out: run("qemu-img", "convert", "-O", "qcow2", "-o",
                                              "extended_l2=on,cluster_size=128k", src, out),
    "raw-gz": lambda src, out: shell(f"gzip -c {src} > {out}"),
    "raw-xz": lambda src, out: shell(f"xz -c -T0 --block-size=4MiB {src} > {out}"),
    "raw-zst": lambda src, out: shell(f"zstd -q -c {src} > {out}"),
    "qcow2-gz": lambda src, out: shell(f"qemu-img convert -O qcow2 {src} {out}.tmp && "
                                       f"gzip -c {out}.tmp > {out} && rm {out}.tmp"),
    "qcow2-xz": lambda src, out: shell(f"qemu-img convert -O qcow2 {src} {out}.tmp && "
                                       f"xz -c -T0 {out}.tmp > {out} && rm {out}.tmp"),
}


@pytest.fixture(scope="module")
def peers():
    work = tempfile.mkdtemp(prefix="vdisk-import-")
    root = os.path.join(work, "www")
    os.makedirs(os.path.join(root, "private"))
    source = os.path.join(work, "source.raw")
    build_source(source)
    for name, make in IMAGES.items():
        make(source, os.path.join(root, f"{name}.img"))
    shutil.copyfile(source, os.path.join(root, "private", "disk.img"))
    ca, cert, key = make_ca(work)
    nginx = Nginx(work, root, cert, key, USER, PASSWORD).start()
    # qcow2 is read by Range requests, raw as one stream: faults hit both ways of reading.
    faults = FaultServer(os.path.join(root, "qcow2.img"))
    raw_faults = FaultServer(source)
    try:
        yield {"work": work, "root": root, "source": source, "ca": ca, "nginx": nginx,
               "faults": faults, "raw_faults": raw_faults}
    finally:
        raw_faults.stop()
        faults.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    with running_vdisk("--import-stall-timeout", "2") as vdisk:
        yield vdisk


def http_dv(name, url, size="64Mi", **source):
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name},
            "spec": {"source": {"http": {"url": url, **source}},
                     "storage": {"resources": {"requests": {"storage": size}}}}}


def dv_status(vdisk, ns, name):
    return vdisk.get_json("dv", name, "-n", ns).get("status", {})


def wait_phase(vdisk, ns, name, phases, timeout=120):
    def reached():
        status = dv_status(vdisk, ns, name)
        return status if status.get("phase") in phases else None
    return wait_for(reached, timeout=timeout, interval=0.25, what=f"{name} in {phases}")


def condition(status, kind):
    return next(c for c in status["conditions"] if c["type"] == kind)


def image_path(vdisk, ns, name):
    pv = vdisk.get_json("pvc", name, "-n", ns)["spec"]["volumeName"]
    return os.path.join(vdisk.data_dir, "pools", "default", "csi", pv, "disk.img")


def assert_same_disk(source, imported):
    result = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "raw", source, imported],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def import_and_wait(vdisk, ns, manifest, timeout=120):
    """Creates the DataVolume and returns its status once it Succeeded or Failed."""
    vdisk.create(manifest, "-n", ns)
    return wait_phase(vdisk, ns, manifest["metadata"]["name"], ("Succeeded", "Failed"),
                      timeout=timeout)


@pytest.fixture
def ns(server):
    name = unique("imp")
    server.create_namespace(name)
    return name


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_format_imports_byte_for_byte(server, peers, ns, image):
    name = unique(image)
    status = import_and_wait(server, ns, http_dv(name, peers["nginx"].url(f"{image}.img")))
    assert status["phase"] == "Succeeded", status
    assert status["progress"] == "100.0%"
    assert condition(status, "Ready")["status"] == "True"
    disk = image_path(server, ns, name)
    assert_same_disk(peers["source"], disk)
    st = os.stat(disk)
    assert st.st_size >= VIRTUAL_SIZE  # grown to the usable size
    assert st.st_blocks * 512 < 16 << 20, "zero blocks must stay sparse"
    assert not os.path.exists(disk + ".partial")
    # Scratch space lives only as long as the import.
    uid = server.get_json("dv", name, "-n", ns)["metadata"]["uid"]
    assert not os.path.exists(os.path.join(server.data_dir, "scratch", uid))


def test_https_with_custom_ca_and_basic_auth(server, peers, ns):
    with open(peers["ca"]) as f:
        server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-ca"},
                       "data": {"ca.pem": f.read()}}, "-n", ns)
    good = unique("tls")
    status = import_and_wait(server, ns, http_dv(good, peers["nginx"].url("qcow2.img", tls=True),
                                                 certConfigMap="test-ca"))
    assert status["phase"] == "Succeeded", status
    assert_same_disk(peers["source"], image_path(server, ns, good))

    untrusted = unique("untrusted")
    status = import_and_wait(server, ns, http_dv(untrusted,
                                                 peers["nginx"].url("raw.img", tls=True)))
    assert status["phase"] == "Failed", status
    assert "certificate" in condition(status, "Running")["message"].lower()

    server.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                   "stringData": {"accessKeyId": USER, "secretKey": PASSWORD}}, "-n", ns)
    server.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong"},
                   "stringData": {"accessKeyId": USER, "secretKey": "nope"}}, "-n", ns)
    authed = unique("auth")
    status = import_and_wait(server, ns, http_dv(authed, peers["nginx"].url("private/disk.img"),
                                                 secretRef="creds"))
    assert status["phase"] == "Succeeded", status
    assert_same_disk(peers["source"], image_path(server, ns, authed))
    denied = unique("denied")
    status = import_and_wait(server, ns, http_dv(denied, peers["nginx"].url("private/disk.img"),
                                                 secretRef="wrong"))
    assert status["phase"] == "Failed", status
    assert "401" in condition(status, "Running")["message"]


def test_checksum_is_verified(server, peers, ns):
    with open(os.path.join(peers["root"], "raw-gz.img"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    good = unique("sum")
    status = import_and_wait(server, ns, http_dv(good, peers["nginx"].url("raw-gz.img"),
                                                 checksum=f"sha256:{digest}"))
    assert status["phase"] == "Succeeded", status
    bad = unique("badsum")
    status = import_and_wait(server, ns, http_dv(bad, peers["nginx"].url("raw-gz.img"),
                                                 checksum="sha256:" + "0" * 64))
    assert status["phase"] == "Failed", status
    assert "checksum mismatch" in condition(status, "Running")["message"]
    assert not os.path.exists(image_path(server, ns, bad))


def test_permanent_failures_fail_with_a_reason(server, peers, ns):
    missing = unique("missing")
    status = import_and_wait(server, ns, http_dv(missing, peers["nginx"].url("nope.img")))
    assert status["phase"] == "Failed", status
    assert "404" in condition(status, "Running")["message"]
    small = unique("small")
    status = import_and_wait(server, ns, http_dv(small, peers["nginx"].url("qcow2.img"),
                                                 size="16Mi"))
    assert status["phase"] == "Failed", status
    assert "A larger PVC is required" in condition(status, "Running")["message"]
    assert not os.path.exists(image_path(server, ns, small))


def hostile_images(root, source):
    """name -> (file made in root, words the failure must contain)"""
    work = os.path.join(root, "hostile")
    os.makedirs(work, exist_ok=True)
    made = {}
    base = os.path.join(work, "base.qcow2")
    run("qemu-img", "create", "-f", "qcow2", base, "48M")
    backed = os.path.join(work, "backed.img")
    run("qemu-img", "create", "-f", "qcow2", "-b", base, "-F", "qcow2", backed)
    made["backing"] = ("hostile/backed.img", "backing file")
    good = os.path.join(work, "good.qcow2")
    run("qemu-img", "convert", "-O", "qcow2", source, good)
    with open(good, "rb") as f:
        header = bytearray(f.read())
    absurd = bytearray(header)
    struct.pack_into(">I", absurd, 36, 0x7fffffff)  # l1_size
    open(os.path.join(work, "l1.img"), "wb").write(absurd)
    made["absurd-l1"] = ("hostile/l1.img", "l1")
    past_end = bytearray(header)
    struct.pack_into(">Q", past_end, 40, 1 << 40)  # l1_table_offset
    open(os.path.join(work, "offset.img"), "wb").write(past_end)
    made["offset-past-eof"] = ("hostile/offset.img", "end of the file")
    open(os.path.join(work, "truncated.img"), "wb").write(header[: len(header) // 2])
    made["truncated"] = ("hostile/truncated.img", "")
    shell(f"head -c 1G /dev/zero | gzip -1 > {work}/bomb.img")
    made["gzip-bomb"] = ("hostile/bomb.img", "larger than the volume")
    return made


def test_hostile_images_fail_and_the_server_stays_up(server, peers, ns):
    for case, (path, words) in hostile_images(peers["root"], peers["source"]).items():
        name = unique(case)
        status = import_and_wait(server, ns, http_dv(name, peers["nginx"].url(path)))
        assert status["phase"] == "Failed", (case, status)
        message = condition(status, "Running")["message"]
        assert words.lower() in message.lower(), (case, message)
        assert not os.path.exists(image_path(server, ns, name)), case
        server.kubectl("get", "--raw", "/healthz")


@pytest.mark.parametrize("server_name", ["faults", "raw_faults"])
def test_transient_faults_are_retried_and_counted(server, peers, ns, server_name):
    faults = peers[server_name]
    modes_to_try = ["drop/2000000/1", "503/2", "stall/3000000/5/1"]
    if server_name == "raw_faults":  # a short body only happens to a request without Range
        modes_to_try.append("wrong-length/1")
    for modes in modes_to_try:
        name = unique("fault")
        status = import_and_wait(server, ns, http_dv(name, faults.url(modes, name)))
        assert status["phase"] == "Succeeded", (modes, status)
        assert status.get("restartCount", 0) >= 1, (modes, status)
        assert_same_disk(peers["source"], image_path(server, ns, name))
    name = unique("norange")
    status = import_and_wait(server, ns, http_dv(name, faults.url("no-range/drop/2000000/2",
                                                                  name)))
    assert status["phase"] == "Succeeded", status
    assert status["restartCount"] >= 1, status
    assert_same_disk(peers["source"], image_path(server, ns, name))


def test_progress_metrics_and_delete_mid_import(server, peers, ns):
    name = unique("slow")
    # Every response stalls after 8 MB for longer than the server's 2 s stall timeout, so the
    # import crawls forward by resumed requests.
    server.create(http_dv(name, peers["raw_faults"].url("stall/8000000/30/1000", name)), "-n",
                  ns)
    status = wait_phase(server, ns, name, ("ImportInProgress",), timeout=30)
    uid = server.get_json("dv", name, "-n", ns)["metadata"]["uid"]
    metrics = wait_for(lambda: (m := server.kubectl("get", "--raw", "/metrics").stdout)
                       and f'ownerUID="{uid}"' in m and m, what="import progress metric")
    assert "kubevirt_cdi_import_progress_total" in metrics
    status = wait_for(lambda: (s := dv_status(server, ns, name)).get("progress", "N/A") != "N/A"
                      and s, what="progress")
    assert status["progress"].endswith("%") and float(status["progress"][:-1]) > 0
    volume_dir = os.path.dirname(image_path(server, ns, name))
    server.kubectl("delete", "dv", name, "-n", ns, "--wait=true", timeout=60)
    wait_for(lambda: not os.path.exists(volume_dir), timeout=30, what="volume freed")
    metrics = server.kubectl("get", "--raw", "/metrics").stdout
    assert f'ownerUID="{uid}"' not in metrics


def test_kill9_mid_import_resumes_and_finishes(peers):
    with running_vdisk("--import-stall-timeout", "2") as vdisk:
        vdisk.create_namespace("crash")
        # Responses stall after 8 MB, so the import is in flight when the server is killed.
        vdisk.create(http_dv("crash", peers["raw_faults"].url("stall/8000000/30/1000",
                                                               unique("crash"))), "-n", "crash")
        wait_phase(vdisk, "crash", "crash", ("ImportInProgress",), timeout=30)
        vdisk.kill9()
        vdisk.start()
        status = wait_phase(vdisk, "crash", "crash", ("Succeeded", "Failed"), timeout=120)
        assert status["phase"] == "Succeeded", status
        assert status["restartCount"] >= 1
        assert_same_disk(peers["source"], image_path(vdisk, "crash", "crash"))


def test_imports_in_flight_are_bounded(peers):
    with running_vdisk("--max-imports", "1") as vdisk:
        vdisk.create_namespace("bound")
        for name in ("first", "second"):
            vdisk.create(http_dv(name, peers["raw_faults"].url("stall/3000000/6/1",
                                                                unique(name))), "-n", "bound")
        def one_running_one_queued():
            phases = sorted(dv_status(vdisk, "bound", n).get("phase", "") for n in
                            ("first", "second"))
            return phases == ["ImportInProgress", "ImportScheduled"]
        wait_for(one_running_one_queued, timeout=30, what="one import running, one queued")
        assert "vdisk_imports_queued 1" in vdisk.kubectl("get", "--raw", "/metrics").stdout
        for name in ("first", "second"):
            assert wait_phase(vdisk, "bound", name, ("Succeeded",), timeout=120)
