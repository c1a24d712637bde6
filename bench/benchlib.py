"""What bench/import and bench/upload share: the test disk in every format, running commands,
timing them, checking results and reading the server's peak memory."""
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("VDISK_BIN", os.path.join(ROOT, "build", "vdisk"))

from conftest import ApiWatch, disk_of, same_disk  # noqa: E402,F401  (re-exported for the benches)

DISK_SIZE = 4 << 30
DV_API = "/apis/cdi.kubevirt.io/v1beta1"
UNTOUCHED_TIMEOUT = 30  # seconds an object may go without any status: nothing handles it
FINISH_TIMEOUT = 600

RECIPES = {
    "raw": "cp --sparse=always {src} {out}",
    "qcow2": "qemu-img convert -O qcow2 {src} {out}",
    "qcow2-compressed": "qemu-img convert -c -O qcow2 -m 2 {src} {out}",
    "raw.gz": "pigz -c {src} > {out}",
    "raw.xz": "xz -1 -T0 --block-size=16MiB -c {src} > {out}",
    "raw.zst": "zstd -q -T0 -c {src} > {out}",
}


def sh(command, **kwargs):
    return subprocess.run(["bash", "-c", command], check=True, capture_output=True, text=True,
                          **kwargs)


def settle():
    """Writes out the dirty pages a previous run left, so that their writeback does not land in
    the next measurement (a 4 GiB scratch file takes seconds to flush)."""
    sh("sync")


def timed(command):
    settle()
    start = time.monotonic()
    sh(command)
    return time.monotonic() - start


def log(message):
    print(message, file=sys.stderr, flush=True)


def build_images(work, data_from, formats=tuple(RECIPES)):
    """A sparse 4 GiB ext4 disk holding a copy of `data_from` (work/source.raw), and the
    requested formats of it in work/www/disk-<format>. Existing files are reused."""
    www = os.path.join(work, "www")
    os.makedirs(www, exist_ok=True)
    source = os.path.join(work, "source.raw")
    if not os.path.exists(source):
        log(f"building a sparse 4 GiB ext4 disk from {data_from} ...")
        sh(f"truncate -s {DISK_SIZE} {source}.tmp && mkfs.ext4 -q -d {data_from} {source}.tmp"
           f" && mv {source}.tmp {source}")
    images = {}
    for name in formats:
        out = os.path.join(www, f"disk-{name}")  # served without a telling suffix
        if not os.path.exists(out):
            log(f"making {name} ...")
            sh(RECIPES[name].format(src=source, out=out + ".tmp") + f" && mv {out}.tmp {out}")
        images[name] = out
    return source, www, images



def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def warm_cache(path):
    """Reads `path` into the page cache, as a file an HTTP server serves often would be, so that
    each tool reading it starts alike whatever ran before."""
    sh(f"cat {path} > /dev/null")


class Api:
    """POSTs manifests to vdisk's API with the kubeconfig's credentials: no kubectl start-up,
    discovery or polling is counted in a timing, nor competes with the server for the CPU."""

    def __init__(self, vdisk):
        self.vdisk = vdisk
        self.context = ssl.create_default_context(cafile=vdisk.ca_path)
        self.headers = {"Authorization": "Bearer " + vdisk.token,
                        "Content-Type": "application/json"}

    def create(self, collection, obj):
        request = urllib.request.Request(self.vdisk.url + collection, method="POST",
                                         data=json.dumps(obj).encode(), headers=self.headers)
        with urllib.request.urlopen(request, context=self.context) as response:
            return json.load(response)


def timed_create(api, watch, collection, manifest, finished, prepare=settle):
    """Seconds from the POST of `manifest` (after prepare()) until an event of it on `watch`
    satisfies finished(object), which returns True or raises on a failure."""
    name = manifest["metadata"]["name"]
    prepare()
    start = time.monotonic()
    api.create(collection, manifest)
    if watch.wait(lambda o: o["metadata"]["name"] == name and o.get("status"),
                  UNTOUCHED_TIMEOUT) is None:
        raise RuntimeError(f"{name} still has no status after {UNTOUCHED_TIMEOUT}s")
    obj = watch.wait(lambda o: o["metadata"]["name"] == name and finished(o), FINISH_TIMEOUT)
    elapsed = time.monotonic() - start
    if obj is None:
        raise RuntimeError(f"{name} did not finish in {FINISH_TIMEOUT}s")
    return elapsed


def dv_finished(obj):
    phase = obj.get("status", {}).get("phase")
    if phase == "Failed":
        raise RuntimeError(f"DataVolume {obj['metadata']['name']} failed: {obj['status']}")
    return phase == "Succeeded"
