"""Cloning and volume snapshots, driven with kubectl, checked on disk.

Two hostpath pools on loop devices made here: XFS with reflinks (snapshots and smart clones in
constant time) and ext4 (no reflinks: no snapshot class, clones are copies). Covered: the
VolumeSnapshotClass and StorageProfile each pool gets, VolumeSnapshots and their contents,
restores into a PVC and a DataVolume, DataVolume clones by snapshot, csi-clone and copy (every
volume-mode pair), the fallbacks to copy and their reasons, a target smaller than its source,
moving a disk into a local PV on a node (spec 9.20.12.1) and a snapshot's isolation from later
writes. Every clone is compared with its source by `qemu-img compare`.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import yaml

from conftest import EXAMPLES, ApiWatch, same_disk, unique, wait_for
from test_storage import (NODE, GiB, MiB, claim, get, provisioner, storage_class, usable,
                          wait_gone, wait_phase, wait_pool_ready)

DRIVER = "kubevirt.io.hostpath-provisioner"
CLONE_TYPE = "cdi.kubevirt.io/cloneType"
FALLBACK_REASON = "cdi.kubevirt.io/cloneFallbackReason"
FALLBACK_MESSAGES = {
    "NoVolumeSnapshotClass": "No compatible volumesnapshotclass found",
    "IncompatibleVolumeModes": "The volume modes of source and target are incompatible",
    "NoVolumeExpansion": "No volume expansion is possible",
    "IncompatibleStorageClasses": None,  # worded freely: the classes differ
}
COPY_PHASES = ["CloneScheduled", "CloneInProgress", "Succeeded"]
SNAPSHOT_PHASES = ["SnapshotForSmartCloneInProgress", "SmartClonePVCInProgress", "Succeeded"]
CSI_CLONE_PHASES = ["CSICloneInProgress", "Succeeded"]
UNTOUCHED_TIMEOUT = 20  # seconds a DataVolume may go without any phase
TOO_SMALL = "target resources requests storage size is smaller than the source"


# ---- pools on loop devices ----------------------------------------------------------------------

def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def can_use_loop_devices():
    return (os.geteuid() == 0 and os.path.exists("/dev/loop-control")
            and all(shutil.which(t) for t in ("losetup", "mkfs.xfs", "mkfs.ext4", "mount")))


@contextlib.contextmanager
def loop_filesystem(backing, mount_point, fs_type, size=8 * GiB):
    """A sparse `backing` file on a free loop device, formatted (xfs with reflinks, or ext4) and
    mounted on `mount_point`; unmounted and detached afterwards, whatever happened."""
    with open(backing, "wb") as f:
        f.truncate(size)
    device = run("losetup", "-f", "--show", backing)
    try:
        if fs_type == "xfs":
            run("mkfs.xfs", "-q", "-f", "-m", "reflink=1", device)
        else:
            run("mkfs.ext4", "-q", "-F", device)
        os.makedirs(mount_point, exist_ok=True)
        run("mount", device, mount_point)
        try:
            yield mount_point
        finally:
            if subprocess.run(["umount", mount_point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", mount_point], capture_output=True)
            with contextlib.suppress(OSError):
                os.rmdir(mount_point)
    finally:
        subprocess.run(["losetup", "-d", device], capture_output=True)
        os.remove(backing)


def used_bytes(mount_point):
    st = os.statvfs(mount_point)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


class Pool:
    """A hostpath pool on its own file system and the storage class provisioning in it."""

    def __init__(self, name, mount_point, storage_class_name):
        self.name = name
        self.mount_point = mount_point
        self.storage_class = storage_class_name


def wait_snapshot_support(server, sc, reflinks, timeout=30):
    """Waits until the class's StorageProfile shows what its pool supports; returns it. A pool
    with reflinks advertises the snapshot strategy; one without names no strategy (as upstream
    for the hostpath provisioner), so a clone tries a snapshot and falls back with the reason."""
    strategy = "snapshot" if reflinks else None

    def settled():
        profile = get(server, "storageprofile", sc)
        status = (profile or {}).get("status", {})
        return profile if status.get("claimPropertySets") and \
            status.get("cloneStrategy") == strategy else None
    try:
        return wait_for(settled, timeout=timeout, interval=0.2)
    except AssertionError:
        status = (get(server, "storageprofile", sc) or {}).get("status")
        raise AssertionError(f"storage profile {sc}: expected cloneStrategy {strategy}, "
                             f"status {json.dumps(status)}") from None


@contextlib.contextmanager
def hostpath_pools(server, work):
    """An XFS (reflink) and an ext4 pool registered in one HostPathProvisioner CR, each with a
    storage class of its own; yields {"xfs": Pool, "ext4": Pool}."""
    if not can_use_loop_devices():
        pytest.skip("needs root, /dev/loop-control, losetup, mkfs.xfs and mkfs.ext4")
    cr = unique("hpp-clone")
    with contextlib.ExitStack() as stack:
        pools = {}
        for fs_type in ("xfs", "ext4"):
            mount_point = stack.enter_context(loop_filesystem(
                os.path.join(work, f"{fs_type}.img"), os.path.join(work, fs_type), fs_type))
            pools[fs_type] = Pool(unique(fs_type), mount_point, unique(f"clone-{fs_type}"))
        server.create(provisioner(cr, [{"name": p.name, "path": p.mount_point}
                                       for p in pools.values()]))
        try:
            for pool in pools.values():
                wait_pool_ready(server, cr, pool.name)
                server.create(storage_class(pool.storage_class, pool.name, expansion=True))
            yield pools
        finally:
            server.kubectl("delete", "dv,pvc,vs", "--all", "--all-namespaces", "--wait=false",
                           check=False)
            server.kubectl("delete", "hostpathprovisioner", cr, "--wait=false", check=False)
            with contextlib.suppress(AssertionError):
                wait_gone(server, "hostpathprovisioner", cr, timeout=30)


@pytest.fixture(scope="module")
def work():
    path = tempfile.mkdtemp(prefix="vdisk-clone-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pools(shared_vdisk, work):
    with hostpath_pools(shared_vdisk, work) as made:
        yield made


@pytest.fixture
def xfs(pools):
    return pools["xfs"]


@pytest.fixture
def ext4(pools):
    return pools["ext4"]


def extra_class(server, pool, expansion=True):
    """Another storage class over the same pool (for profile edits and class mismatches)."""
    name = unique(f"{pool.storage_class}-x")
    server.create(storage_class(name, pool.name, expansion=expansion))
    return name


# ---- manifests ----------------------------------------------------------------------------------

def data_volume(name, source, size, sc=None, api="pvc", mode=None):
    target = {"resources": {"requests": {"storage": size}}}
    if api == "pvc":
        target["accessModes"] = ["ReadWriteOnce"]
    if sc:
        target["storageClassName"] = sc
    if mode:
        target["volumeMode"] = mode
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name}, "spec": {"source": source, api: target}}


def clone_dv(name, source_ns, source_pvc, size, sc=None, api="pvc", mode=None):
    return data_volume(name, {"pvc": {"namespace": source_ns, "name": source_pvc}}, size, sc,
                       api, mode)


def volume_snapshot(name, pvc, snapshot_class=None):
    spec = {"source": {"persistentVolumeClaimName": pvc}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": name}, "spec": spec}


def restore_claim(name, snapshot, size, sc):
    pvc = claim(name, size, sc)
    pvc["spec"]["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                 "name": snapshot}
    return pvc


# ---- reading the cluster and the disks ----------------------------------------------------------

def disk_path(server, ns, pvc):
    """The claim's image: `<path>/disk.img` of a Filesystem PV, the file itself of a Block PV."""
    volume = get(server, "pvc", pvc, "-n", ns)["spec"]["volumeName"]
    path = get(server, "pv", volume)["spec"]["local"]["path"]
    return path if os.path.isfile(path) else os.path.join(path, "disk.img")


def annotations(server, kind, name, ns):
    return (get(server, kind, name, "-n", ns) or {}).get("metadata", {}).get("annotations", {})


def warning_events(server, name, ns):
    """(reason, message) of the Warning events about objects named `name`."""
    listed = get(server, "events", "-n", ns, "--field-selector", f"involvedObject.name={name}")
    return [(e.get("reason"), e.get("message", "")) for e in (listed or {}).get("items", [])
            if e.get("type") == "Warning"]


def wait_warning(server, name, reason, ns, timeout=30):
    def found():
        return [m for r, m in warning_events(server, name, ns) if r == reason]
    try:
        return wait_for(found, timeout=timeout, interval=0.2)[0]
    except AssertionError:
        raise AssertionError(f"no Warning {reason} event on {name}; Warnings: "
                             f"{warning_events(server, name, ns)}") from None


def wait_dv_done(server, ns, name, timeout=120):
    """Waits for Succeeded or Failed; fails with the DataVolume's status unless Succeeded."""
    untouched_until = time.monotonic() + UNTOUCHED_TIMEOUT

    def done():
        dv = get(server, "dv", name, "-n", ns)
        phase = (dv or {}).get("status", {}).get("phase")
        if not phase and time.monotonic() > untouched_until:
            raise AssertionError(f"dv {ns}/{name} still has no phase after "
                                 f"{UNTOUCHED_TIMEOUT}s: nothing picked it up")
        return dv if phase in ("Succeeded", "Failed") else None
    try:
        dv = wait_for(done, timeout=timeout, interval=0.1,
                      what=f"dv {ns}/{name} to finish in {timeout}s")
    except AssertionError as error:
        dv = get(server, "dv", name, "-n", ns)
        raise AssertionError(f"{error}; status {json.dumps((dv or {}).get('status'))}; "
                             f"warnings {warning_events(server, name, ns)}") from None
    assert dv["status"]["phase"] == "Succeeded", (
        f"dv {ns}/{name} failed: {json.dumps(dv['status'])}; "
        f"warnings {warning_events(server, name, ns)}")
    return dv


def wait_snapshot_ready(server, ns, name, timeout=60):
    def ready():
        vs = get(server, "vs", name, "-n", ns)
        return vs if (vs or {}).get("status", {}).get("readyToUse") is True else None
    try:
        return wait_for(ready, timeout=timeout, interval=0.1, what=f"vs {name} ready")
    except AssertionError:
        vs = get(server, "vs", name, "-n", ns)
        raise AssertionError(f"vs {ns}/{name} not readyToUse: "
                             f"{json.dumps((vs or {}).get('status'))}") from None


QUANTITY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                  "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}


def quantity_bytes(text):
    number, unit = re.fullmatch(r"(\d+)([kMGT]i?|Ki)?", str(text)).groups()
    return int(number) * QUANTITY_UNITS[unit or ""]


def assert_phases_in_order(seen, expected, name):
    """`expected` must appear in `seen` in this order (other phases may come in between)."""
    position = 0
    for phase in seen:
        if position < len(expected) and phase == expected[position]:
            position += 1
    assert position == len(expected), f"{name}: phases seen {seen}, expected in order {expected}"


def write_random_runs(path, runs):
    """Writes random bytes at each (offset, length) of an existing image, leaving the holes
    between them, and flushes it to disk."""
    with open(path, "r+b") as f:
        for offset, length in runs:
            f.seek(offset)
            for start in range(0, length, 4 * MiB):
                f.write(os.urandom(min(4 * MiB, length - start)))
        f.flush()
        os.fsync(f.fileno())


SMALL_RUNS = [(0, MiB), (5 * MiB, 2 * MiB), (33 * MiB, MiB), (58 * MiB, MiB // 2)]


@contextlib.contextmanager
def watching_dvs(server, ns):
    watch = ApiWatch(server, f"/apis/cdi.kubevirt.io/v1beta1/namespaces/{ns}/datavolumes")
    try:
        yield watch
    finally:
        watch.close()


def source_volume(server, ns, name, sc, size="64Mi", mode="Filesystem", runs=SMALL_RUNS):
    """A blank DataVolume (PVC API, request as written) filled with random runs; returns the
    path of its image."""
    server.create(data_volume(name, {"blank": {}}, size, sc, mode=mode), "-n", ns)
    wait_dv_done(server, ns, name)
    image = disk_path(server, ns, name)
    write_random_runs(image, runs)
    return image


def assert_clone_type(server, ns, name, clone_type):
    found = annotations(server, "pvc", name, ns)
    assert found.get(CLONE_TYPE) == clone_type, (
        f"pvc {name}: {CLONE_TYPE}={found.get(CLONE_TYPE)!r}, expected {clone_type!r}; "
        f"annotations {found}; warnings {warning_events(server, name, ns)}")
    return found


def assert_fallback(server, ns, name, reason):
    """The target claim records the reason for copying and the DataVolume got a Warning."""
    found = assert_clone_type(server, ns, name, "copy")
    message = FALLBACK_MESSAGES[reason]
    recorded = found.get(FALLBACK_REASON, "")
    accepted = recorded == reason or (message in recorded if message else bool(recorded))
    assert accepted, f"pvc {name}: {FALLBACK_REASON}={recorded!r}, expected {reason} ({message})"
    event = wait_warning(server, name, reason, ns)
    if message:
        assert message in event, event


# ---- 1. snapshot support per pool ---------------------------------------------------------------

def test_reflink_pool_gets_a_snapshot_class_and_a_snapshot_profile(shared_vdisk, xfs):
    server, sc = shared_vdisk, xfs.storage_class
    profile = wait_snapshot_support(server, sc, reflinks=True)
    assert profile["status"].get("snapshotClass") == sc, profile["status"]
    snapshot_class = wait_for(lambda: get(server, "volumesnapshotclass", sc), timeout=30,
                              what=f"volumesnapshotclass {sc}")
    assert snapshot_class["driver"] == DRIVER
    assert snapshot_class["deletionPolicy"] == "Delete"


def test_pool_without_reflinks_has_no_snapshot_class(shared_vdisk, ext4):
    server, sc = shared_vdisk, ext4.storage_class
    profile = wait_snapshot_support(server, sc, reflinks=False)
    assert "snapshotClass" not in profile["status"], profile["status"]
    assert not server.exists("volumesnapshotclass", sc)


# ---- 2, 3. volume snapshots and restores --------------------------------------------------------

def test_volume_snapshot_is_ready_bound_and_restorable(shared_vdisk, ns, xfs):
    server, sc = shared_vdisk, xfs.storage_class
    wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "origin", sc)
    source_pvc = get(server, "pvc", "origin", "-n", ns)
    server.create(volume_snapshot("snap", "origin", sc), "-n", ns)
    vs = wait_snapshot_ready(server, ns, "snap")

    status = vs["status"]
    capacity = quantity_bytes(source_pvc["status"]["capacity"]["storage"])
    assert quantity_bytes(status["restoreSize"]) == capacity, status
    content_name = status["boundVolumeSnapshotContentName"]
    assert content_name == f"snapcontent-{vs['metadata']['uid']}"
    assert status.get("creationTime"), status
    content = get(server, "volumesnapshotcontent", content_name)
    assert content["status"]["readyToUse"] is True
    assert content["status"]["restoreSize"] == capacity
    assert content["spec"]["volumeSnapshotRef"]["name"] == "snap"
    assert content["spec"]["volumeSnapshotRef"]["namespace"] == ns
    assert content["spec"]["source"]["volumeHandle"] == source_pvc["spec"]["volumeName"]

    listed = server.kubectl("get", "vs", "-n", ns).stdout.splitlines()
    assert listed[0].split()[:3] == ["NAME", "READYTOUSE", "SOURCEPVC"], listed
    assert listed[1].split()[:3] == ["snap", "true", "origin"], listed

    # Restored into a claim of the same class.
    server.create(restore_claim("restored", "snap", "64Mi", sc), "-n", ns)
    wait_phase(server, "pvc", "restored", "Bound", ns=ns)
    restored = disk_path(server, ns, "restored")
    wait_for(lambda: os.path.exists(restored), timeout=30, what="restored disk.img")
    same_disk(source, restored)

    # And into a DataVolume.
    server.create(data_volume("restored-dv", {"snapshot": {"namespace": ns, "name": "snap"}},
                              "64Mi", sc, api="storage"), "-n", ns)
    wait_dv_done(server, ns, "restored-dv")
    same_disk(source, disk_path(server, ns, "restored-dv"))

    # deletionPolicy Delete: the content goes with the snapshot.
    server.kubectl("delete", "vs", "snap", "-n", ns)
    wait_gone(server, "vs", "snap", "-n", ns)
    wait_gone(server, "volumesnapshotcontent", content_name)


def test_snapshot_on_a_pool_without_reflinks_is_never_ready(shared_vdisk, ns, ext4):
    server, sc = shared_vdisk, ext4.storage_class
    source_volume(server, ns, "origin", sc)
    server.create(volume_snapshot("snap", "origin"), "-n", ns)

    def errored():
        vs = get(server, "vs", "snap", "-n", ns)
        return vs if (vs or {}).get("status", {}).get("error", {}).get("message") else None
    try:
        vs = wait_for(errored, timeout=30, interval=0.2, what="snapshot error")
    except AssertionError:
        vs = get(server, "vs", "snap", "-n", ns)
        raise AssertionError(f"no status.error: {json.dumps(vs.get('status'))}") from None
    assert vs["status"].get("readyToUse") is False, vs["status"]
    message = vs["status"]["error"]["message"].lower()
    assert "snapshot" in message and "support" in message, message


def test_snapshot_is_isolated_from_later_writes_to_its_source(shared_vdisk, ns, xfs, work):
    """7: the snapshot keeps the content of the moment it was taken."""
    server, sc = shared_vdisk, xfs.storage_class
    wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "origin", sc)
    before = os.path.join(work, f"{ns}-before.raw")
    shutil.copyfile(source, before)
    server.create(volume_snapshot("snap", "origin"), "-n", ns)  # class from the claim's class
    vs = wait_snapshot_ready(server, ns, "snap")
    assert vs["spec"].get("volumeSnapshotClassName", sc) == sc

    subprocess.run(["dd", "if=/dev/urandom", f"of={source}", "bs=1M", "count=4", "conv=notrunc",
                    "status=none"], check=True)
    subprocess.run(["sync"], check=True)
    assert subprocess.run(["cmp", "-s", source, before]).returncode != 0

    server.create(restore_claim("restored", "snap", "64Mi", sc), "-n", ns)
    wait_phase(server, "pvc", "restored", "Bound", ns=ns)
    restored = disk_path(server, ns, "restored")
    wait_for(lambda: os.path.exists(restored), timeout=30, what="restored disk.img")
    same_disk(before, restored)
    os.remove(before)


# ---- 4. DataVolume clones -----------------------------------------------------------------------

def test_smart_clone_across_namespaces_uses_a_temporary_snapshot(shared_vdisk, ns, xfs):
    server, sc = shared_vdisk, xfs.storage_class
    wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "golden", sc)
    target_ns = unique("t")
    server.create_namespace(target_ns)
    snapshots = ApiWatch(server, f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/"
                         "volumesnapshots")
    try:
        with watching_dvs(server, target_ns) as dvs:
            server.create(clone_dv("copy-of-golden", ns, "golden", "64Mi", sc), "-n", target_ns)
            dv = wait_dv_done(server, target_ns, "copy-of-golden")
            same_disk(source, disk_path(server, target_ns, "copy-of-golden"))
            assert dv["status"]["progress"] == "100.0%", dv["status"]
            assert_clone_type(server, target_ns, "copy-of-golden", "snapshot")
            temporary = f"cdi-tmp-{dv['metadata']['uid']}"
            assert temporary in snapshots.names(), (
                f"no {temporary} seen in {ns}; snapshots seen: {snapshots.names()}")
            wait_gone(server, "vs", temporary, "-n", ns)
            assert_phases_in_order(dvs.phases("copy-of-golden"), SNAPSHOT_PHASES,
                                   "copy-of-golden")
    finally:
        snapshots.close()


def test_smart_clone_into_a_larger_target_grows_it(shared_vdisk, ns, xfs):
    server, sc = shared_vdisk, xfs.storage_class
    wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "small", sc)
    with watching_dvs(server, ns) as dvs:
        server.create(clone_dv("bigger", ns, "small", "128Mi", sc), "-n", ns)
        wait_dv_done(server, ns, "bigger")
        target = disk_path(server, ns, "bigger")
        same_disk(source, target)
        assert_clone_type(server, ns, "bigger", "snapshot")
        assert os.stat(target).st_size == usable(128 * MiB) > os.stat(source).st_size
        seen = [p for p in dvs.phases("bigger") if p != "ExpansionInProgress"]
        assert_phases_in_order(seen, SNAPSHOT_PHASES, "bigger")


def test_csi_clone_when_the_profile_asks_for_it(shared_vdisk, ns, xfs):
    server = shared_vdisk
    sc = extra_class(server, xfs)
    wait_snapshot_support(server, sc, reflinks=True)
    server.kubectl("patch", "storageprofile", sc, "--type=merge", "-p",
                   json.dumps({"spec": {"cloneStrategy": "csi-clone"}}))
    wait_for(lambda: get(server, "storageprofile", sc)["status"].get("cloneStrategy")
             == "csi-clone", timeout=30, what="profile status cloneStrategy csi-clone")
    source = source_volume(server, ns, "origin", sc)
    with watching_dvs(server, ns) as dvs:
        server.create(clone_dv("csi", ns, "origin", "64Mi", sc), "-n", ns)
        dv = wait_dv_done(server, ns, "csi")
        same_disk(source, disk_path(server, ns, "csi"))
        assert dv["status"]["progress"] == "100.0%", dv["status"]
        assert_clone_type(server, ns, "csi", "csi-clone")
        assert_phases_in_order(dvs.phases("csi"), CSI_CLONE_PHASES, "csi")


def test_copy_clone_on_a_pool_without_reflinks_records_why(shared_vdisk, ns, ext4):
    server, sc = shared_vdisk, ext4.storage_class
    source = source_volume(server, ns, "origin", sc)
    with watching_dvs(server, ns) as dvs:
        server.create(clone_dv("copied", ns, "origin", "64Mi", sc), "-n", ns)
        dv = wait_dv_done(server, ns, "copied")
        same_disk(source, disk_path(server, ns, "copied"))
        assert dv["status"]["progress"] == "100.0%", dv["status"]
        assert_fallback(server, ns, "copied", "NoVolumeSnapshotClass")
        assert_phases_in_order(dvs.phases("copied"), COPY_PHASES, "copied")
        shown = dvs.progress("copied")
        assert all(re.fullmatch(r"N/A|\d{1,3}\.\d{1,2}%", p) for p in shown), shown


def test_snapshot_strategy_asked_of_a_pool_without_reflinks_falls_back(shared_vdisk, ns, ext4):
    """The admin sets spec.cloneStrategy: snapshot on a class that has no snapshot class."""
    server = shared_vdisk
    sc = extra_class(server, ext4)
    wait_for(lambda: server.exists("storageprofile", sc), timeout=30, what="storage profile")
    server.kubectl("patch", "storageprofile", sc, "--type=merge", "-p",
                   json.dumps({"spec": {"cloneStrategy": "snapshot"}}))
    source = source_volume(server, ns, "origin", sc)
    server.create(clone_dv("copied", ns, "origin", "64Mi", sc), "-n", ns)
    wait_dv_done(server, ns, "copied")
    same_disk(source, disk_path(server, ns, "copied"))
    assert_fallback(server, ns, "copied", "NoVolumeSnapshotClass")


@pytest.mark.parametrize("reason", ["IncompatibleVolumeModes", "NoVolumeExpansion",
                                    "IncompatibleStorageClasses"])
def test_smart_clone_falls_back_to_copy(shared_vdisk, ns, xfs, reason):
    server = shared_vdisk
    source_class = target_class = xfs.storage_class
    size, mode = "64Mi", None
    if reason == "IncompatibleVolumeModes":
        mode = "Block"
    elif reason == "NoVolumeExpansion":
        source_class = target_class = extra_class(server, xfs, expansion=False)
        size = "128Mi"
    else:
        target_class = extra_class(server, xfs)
    for sc in {source_class, target_class}:
        wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "origin", source_class)
    with watching_dvs(server, ns) as dvs:
        server.create(clone_dv("fallback", ns, "origin", size, target_class, mode=mode), "-n", ns)
        dv = wait_dv_done(server, ns, "fallback")
        target = disk_path(server, ns, "fallback")
        same_disk(source, target)
        if reason == "NoVolumeExpansion":  # the copy fills a target of its own, larger size
            assert os.stat(target).st_size == usable(128 * MiB) > os.stat(source).st_size
        assert dv["status"]["progress"] == "100.0%", dv["status"]
        assert_fallback(server, ns, "fallback", reason)
        assert_phases_in_order(dvs.phases("fallback"), COPY_PHASES, "fallback")


# Source and target volume modes; the target's API (a Filesystem target on the storage API is
# inflated for the file-system overhead, so it holds a whole Block source).
COPY_MODES = [("Filesystem", "Filesystem", "storage"), ("Filesystem", "Block", "pvc"),
              ("Block", "Filesystem", "storage"), ("Block", "Block", "pvc")]


@pytest.mark.parametrize("source_mode,target_mode,api", COPY_MODES,
                         ids=[f"{s}-to-{t}" for s, t, _ in COPY_MODES])
def test_copy_clone_between_volume_modes(shared_vdisk, ns, ext4, source_mode, target_mode, api):
    server, sc = shared_vdisk, ext4.storage_class
    source = source_volume(server, ns, "origin", sc, mode=source_mode)
    server.create(clone_dv("copied", ns, "origin", "64Mi", sc, api=api, mode=target_mode),
                  "-n", ns)
    wait_dv_done(server, ns, "copied")
    pvc = get(server, "pvc", "copied", "-n", ns)
    assert pvc["spec"]["volumeMode"] == target_mode
    target = disk_path(server, ns, "copied")
    assert os.stat(target).st_size >= os.stat(source).st_size
    same_disk(source, target)
    assert_clone_type(server, ns, "copied", "copy")


# ---- 5. a target smaller than its source --------------------------------------------------------

def test_clone_into_a_smaller_target_fails(shared_vdisk, ns, ext4):
    server, sc = shared_vdisk, ext4.storage_class
    source_volume(server, ns, "origin", sc, size="128Mi")
    server.create(clone_dv("squeezed", ns, "origin", "64Mi", sc), "-n", ns)

    def failed():
        dv = get(server, "dv", "squeezed", "-n", ns)
        return dv if dv.get("status", {}).get("phase") == "Failed" else None
    try:
        dv = wait_for(failed, timeout=30, interval=0.2, what="phase Failed")
    except AssertionError:
        dv = get(server, "dv", "squeezed", "-n", ns)
        raise AssertionError(f"not Failed: {json.dumps(dv.get('status'))}") from None
    messages = [c.get("message", "") for c in dv["status"].get("conditions", [])]
    assert any(TOO_SMALL in m for m in messages), messages
    assert any(TOO_SMALL in m for _, m in warning_events(server, "squeezed", ns)), \
        warning_events(server, "squeezed", ns)


# ---- 6. moving a disk into a local PV on a node (9.20.12.1) -------------------------------------

def local_destination(server, work, size):
    """A static local Filesystem PV on node01 of class `local` (spec example 18), labelled for
    the clone's selector; returns its name and directory."""
    if not server.exists("storageclass", "local"):
        server.create(storage_class("local", provisioner="kubernetes.io/no-provisioner",
                                    reclaim="Retain"))
    name = unique("destination-pv")
    directory = os.path.join(work, name)
    os.makedirs(directory)
    with open(os.path.join(EXAMPLES, "18-pv-local-destination.yaml")) as f:
        pv = yaml.safe_load(f)
    pv["metadata"] = {"name": name, "labels": {"node": NODE}}
    pv["spec"]["capacity"]["storage"] = size
    pv["spec"]["local"]["path"] = directory
    pv["spec"]["persistentVolumeReclaimPolicy"] = "Retain"
    server.create(pv)
    wait_phase(server, "pv", name, "Available")
    return name, directory


def clone_to_node(source_ns, source_pvc, size):
    """Spec example 19 for this source and size; like the example, it names no class."""
    with open(os.path.join(EXAMPLES, "19-dv-clone-to-node.yaml")) as f:
        dv = yaml.safe_load(f)
    dv["spec"]["source"]["pvc"] = {"name": source_pvc, "namespace": source_ns}
    dv["spec"]["pvc"]["resources"]["requests"]["storage"] = size
    return dv


def test_clone_moves_a_disk_into_a_local_pv_on_the_node(shared_vdisk, ns, ext4, work):
    """Example 19 names no class: its claim selects the labelled PV whatever the PV's class,
    instead of taking the default class and a new volume."""
    server = shared_vdisk
    source = source_volume(server, ns, "source-vm-disk", ext4.storage_class)
    pv, directory = local_destination(server, work, "128Mi")
    try:
        server.create(clone_to_node(ns, "source-vm-disk", "128Mi"), "-n", ns)
        wait_dv_done(server, ns, "clone-datavolume")
        pvc = get(server, "pvc", "clone-datavolume", "-n", ns)
        assert pvc["spec"]["volumeName"] == pv, (
            f"bound to {pvc['spec'].get('volumeName')} (class "
            f"{pvc['spec'].get('storageClassName')}), not the local PV {pv}")
        same_disk(source, os.path.join(directory, "disk.img"))
    finally:
        server.kubectl("delete", "dv", "clone-datavolume", "-n", ns, "--wait=false", check=False)
        with contextlib.suppress(AssertionError):
            wait_gone(server, "pvc", "clone-datavolume", "-n", ns)
        server.kubectl("delete", "pv", pv, "--wait=false", check=False)


# ---- 8. constant time and space on XFS; the same clone copied on ext4 ---------------------------

BIG_RUNS = [(offset * MiB, 128 * MiB) for offset in (0, 256, 512, 768)]  # 512 MiB of data


def test_reflink_clone_takes_constant_time_and_space(shared_vdisk, ns, xfs):
    server, sc = shared_vdisk, xfs.storage_class
    wait_snapshot_support(server, sc, reflinks=True)
    source = source_volume(server, ns, "big", sc, size="1Gi", runs=BIG_RUNS)
    subprocess.run(["sync"], check=True)
    used_before = used_bytes(xfs.mount_point)
    start = time.monotonic()
    server.create(clone_dv("instant", ns, "big", "1Gi", sc), "-n", ns)
    wait_dv_done(server, ns, "instant")
    elapsed = time.monotonic() - start
    subprocess.run(["sync"], check=True)
    grown = used_bytes(xfs.mount_point) - used_before
    assert_clone_type(server, ns, "instant", "snapshot")
    same_disk(source, disk_path(server, ns, "instant"))
    assert elapsed < 3, f"snapshot clone of 512 MiB took {elapsed:.2f}s"
    assert grown < 32 * MiB, f"the pool grew by {grown / MiB:.1f} MiB"


def test_the_same_clone_on_ext4_is_a_copy(shared_vdisk, ns, ext4):
    server, sc = shared_vdisk, ext4.storage_class
    source = source_volume(server, ns, "big", sc, size="1Gi", runs=BIG_RUNS)
    server.create(clone_dv("copied", ns, "big", "1Gi", sc), "-n", ns)
    wait_dv_done(server, ns, "copied", timeout=180)
    same_disk(source, disk_path(server, ns, "copied"))
    assert_fallback(server, ns, "copied", "NoVolumeSnapshotClass")
