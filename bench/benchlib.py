"""What bench/import and bench/upload share: the test disk in every format, running commands,
timing them, checking results and reading the server's peak memory."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("VDISK_BIN", os.path.join(ROOT, "build", "vdisk"))

from conftest import disk_of, same_disk  # noqa: E402,F401  (re-exported for the benches)

DISK_SIZE = 4 << 30

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

