"""Storage procedures of the spec, driven with kubectl, checked on disk.

9.20.2 hostpath pools (a directory; a pvcTemplate pool on a loop device with XFS), 9.20.3 storage
and PVC API, storage profiles, 9.20.4 file system overhead, 9.20.7 preallocation, 9.20.10.4 local
block PVs, 9.20.13 blank DataVolumes, 9.20.19 reclaim, 9.20.20 expansion, 9.20.21 deletion.

Sizes are computed here by hand, the way CDI does: usable = floor(size * (1 - overhead)) rounded
down to 1 MiB. A StorageClass parameter change and a PVC shrink at the API are covered by
test_validation.py; here a shrink is also checked not to touch disk.img.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile

import pytest
import yaml

from conftest import EXAMPLES, unique, wait_for

MiB = 1 << 20
GiB = 1 << 30
OVERHEAD = 0.055
NODE = "node01"


def usable(size, overhead=OVERHEAD):
    return int((1 - overhead) * size) // MiB * MiB


def required(request, overhead=OVERHEAD):
    aligned = -(-request // MiB) * MiB
    return math.ceil(aligned / (1 - overhead))


# ---- manifests ----------------------------------------------------------------------------------

def blank_dv(name, size, storage_class=None, api="pvc", preallocation=None):
    """A blank DataVolume on the PVC API (modes as written) or the storage API (none given)."""
    target = {"resources": {"requests": {"storage": size}}}
    if api == "pvc":
        target["accessModes"] = ["ReadWriteOnce"]
    if storage_class:
        target["storageClassName"] = storage_class
    spec = {"source": {"blank": {}}, api: target}
    if preallocation is not None:
        spec["preallocation"] = preallocation
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name}, "spec": spec}


def storage_class(name, pool=None, provisioner="kubevirt.io.hostpath-provisioner",
                  binding="Immediate", reclaim="Delete", expansion=None):
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
          "provisioner": provisioner, "reclaimPolicy": reclaim, "volumeBindingMode": binding}
    if pool is not None:
        sc["parameters"] = {"storagePool": pool}
    if expansion is not None:
        sc["allowVolumeExpansion"] = expansion
    return sc


def local_pv(name, path, size, storage_class, mode="Filesystem", reclaim="Retain"):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "volumeMode": mode, "persistentVolumeReclaimPolicy": reclaim,
                     "storageClassName": storage_class, "local": {"path": path},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [NODE]}]}]}}}}


def claim(name, size, storage_class, mode="Filesystem"):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": mode,
                     "storageClassName": storage_class,
                     "resources": {"requests": {"storage": size}}}}


def provisioner(name, pools):
    return {"apiVersion": "hostpathprovisioner.kubevirt.io/v1beta1", "kind": "HostPathProvisioner",
            "metadata": {"name": name},
            "spec": {"imagePullPolicy": "IfNotPresent", "storagePools": pools,
                     "workload": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}


# ---- reading the cluster and the disk -----------------------------------------------------------

def get(server, *args):
    r = server.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_dv(server, ns, name, phase="Succeeded", timeout=60):
    def reached():
        dv = get(server, "dv", name, "-n", ns)
        return dv if dv and dv.get("status", {}).get("phase") == phase else None
    return wait_for(reached, timeout=timeout, interval=0.2, what=f"dv {ns}/{name} {phase}")


def wait_phase(server, kind, name, phase, ns=None, timeout=30):
    args = [kind, name] + (["-n", ns] if ns else [])

    def reached():
        obj = get(server, *args)
        return obj if obj and obj.get("status", {}).get("phase") == phase else None
    return wait_for(reached, timeout=timeout, interval=0.2, what=f"{kind} {name} {phase}")


def wait_gone(server, *args, timeout=30):
    wait_for(lambda: not server.exists(*args), timeout=timeout, interval=0.2,
             what=f"{' '.join(args)} to be gone")


def events(server, name, ns="default"):
    """The reasons and messages of the events about objects named `name`."""
    listed = get(server, "events", "-n", ns, "--field-selector", f"involvedObject.name={name}")
    return [(e.get("reason"), e.get("message", "")) for e in (listed or {}).get("items", [])]


def wait_event(server, name, reason, ns="default", timeout=30):
    def found():
        return [m for r, m in events(server, name, ns) if r == reason]
    return wait_for(found, timeout=timeout, interval=0.2, what=f"{reason} event on {name}")[0]


def volume_of(server, ns, pvc):
    """The PV bound to a claim and the directory (or file) that holds its data."""
    bound = get(server, "pvc", pvc, "-n", ns)
    pv = get(server, "pv", bound["spec"]["volumeName"])
    return pv, pv["spec"]["local"]["path"]


def disk_image(server, ns, pvc):
    return os.path.join(volume_of(server, ns, pvc)[1], "disk.img")


def condition(obj, kind):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return c
    return {}


def pool_status(cr, pool):
    for s in (cr or {}).get("status", {}).get("storagePoolStatuses", []):
        if s["name"] == pool:
            return s
    return {}


def wait_pool_ready(server, cr_name, pool, timeout=60):
    def ready():
        cr = get(server, "hostpathprovisioner", cr_name)
        return cr if pool_status(cr, pool).get("phase") == "Ready" else None
    return wait_for(ready, timeout=timeout, interval=0.2, what=f"pool {pool} Ready")


def mounted_at(path):
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == path:
                return fields
    return None


@pytest.fixture
def scratch():
    path = tempfile.mkdtemp(prefix="vdisk-storage-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---- 9.20.2 hostpath provisioner ----------------------------------------------------------------

def test_path_pool_serves_its_class_and_reports_capacity(shared_vdisk, ns, scratch):
    """9.20.2.1: the CR's pool directory is made; the class of 9.20.2.1.2 provisions into it."""
    server, cr, pool = shared_vdisk, unique("hpp"), unique("pool")
    path = os.path.join(scratch, "myvolumes")
    server.create(provisioner(cr, [{"name": pool, "path": path}]))
    try:
        status = wait_pool_ready(server, cr, pool)
        assert os.path.isdir(path)
        available = condition(status, "Available")
        assert available["status"] == "True", status["status"]
        assert path in available["message"] and " free of " in available["message"]
        if os.stat(path).st_dev == os.stat("/").st_dev:
            degraded = condition(status, "Degraded")
            assert degraded["status"] == "True" and degraded["reason"] == "PoolOnRootFilesystem"
            assert "operating system" in degraded["message"]
            assert "operating system" in wait_event(server, cr, "PoolOnRootFilesystem")

        sc = unique("hostpath-csi")
        server.create(storage_class(sc, pool, binding="WaitForFirstConsumer"))
        server.create(blank_dv("disk", "64Mi", sc), "-n", ns)
        wait_dv(server, ns, "disk")
        image = disk_image(server, ns, "disk")
        assert image.startswith(os.path.join(path, "csi") + "/")
        assert os.stat(image).st_size == usable(64 * MiB) == 60 * MiB

        # A DataVolume larger than the pool: its claim waits with a clear event, nothing made.
        before = sorted(os.listdir(os.path.join(path, "csi")))
        server.create(blank_dv("huge", "1000Ti", sc), "-n", ns)
        message = wait_event(server, "huge", "ProvisioningFailed", ns)
        assert "cannot hold" in message, message
        assert get(server, "pvc", "huge", "-n", ns)["status"]["phase"] == "Pending"
        assert sorted(os.listdir(os.path.join(path, "csi"))) == before
        server.kubectl("delete", "dv", "huge", "-n", ns)

        # A class naming a pool nobody defines: the same, with the reason.
        missing = unique("nowhere")
        server.create(storage_class(missing, "no-such-pool"))
        server.create(claim("lost-in-space", "16Mi", missing), "-n", ns)
        message = wait_event(server, "lost-in-space", "ProvisioningFailed", ns)
        assert 'storage pool "no-such-pool" is not defined' in message, message
    finally:
        server.kubectl("delete", "hostpathprovisioner", cr, "--wait=false")
        wait_gone(server, "hostpathprovisioner", cr)


def test_pool_path_that_is_a_file_fails_only_that_pool(shared_vdisk, scratch):
    server, cr = shared_vdisk, unique("hpp")
    not_a_dir = os.path.join(scratch, "a-file")
    with open(not_a_dir, "w") as f:
        f.write("precious")
    good = os.path.join(scratch, "good")
    server.create(provisioner(cr, [{"name": "bad", "path": not_a_dir},
                                   {"name": unique("good"), "path": good}]))
    try:
        def degraded():
            obj = get(server, "hostpathprovisioner", cr)
            c = condition(obj or {}, "Degraded")
            return obj if c.get("reason") == "StoragePoolFailed" else None
        obj = wait_for(degraded, timeout=30, what="Degraded StoragePoolFailed")
        message = condition(obj, "Degraded")["message"]
        assert f"storage pool bad: pool path {not_a_dir} exists and is not a directory" in message
        assert condition(obj, "Available")["status"] == "False"
        assert pool_status(obj, "bad")["currentReady"] == 0
        assert "exists and is not a directory" in wait_event(server, cr, "StoragePoolFailed")
        assert os.path.isdir(good)
        with open(not_a_dir) as f:
            assert f.read() == "precious"
    finally:
        server.kubectl("delete", "hostpathprovisioner", cr, "--wait=false")
        wait_gone(server, "hostpathprovisioner", cr)


def _can_use_loop_devices():
    return (os.geteuid() == 0 and all(shutil.which(t) for t in ("losetup", "mkfs.xfs", "blkid"))
            and os.path.exists("/dev/loop-control"))


@pytest.fixture
def loop_device(scratch):
    """A 512 MiB sparse file attached to a free loop device; always detached afterwards."""
    if not _can_use_loop_devices():
        pytest.skip("needs root, /dev/loop-control, losetup, blkid and mkfs.xfs (xfsprogs)")
    backing = os.path.join(scratch, "loop-backing")
    with open(backing, "wb") as f:
        f.truncate(512 * MiB)
    device = subprocess.run(["losetup", "-f", "--show", backing], check=True,
                            capture_output=True, text=True).stdout.strip()
    mounts = []
    try:
        yield device, mounts
    finally:
        for mount_point in mounts:
            if mounted_at(mount_point):
                subprocess.run(["umount", mount_point], check=False)
        subprocess.run(["losetup", "-d", device], check=False)


def test_pvc_template_pool_on_a_loop_device(shared_vdisk, ns, scratch, loop_device):
    """9.20.2.2: the pool claims the loop device's Block PV, makes XFS on it, mounts it, serves
    volumes from it, and is unmounted and released when removed from the CR."""
    server = shared_vdisk
    device, mounts = loop_device
    local_class, pv_name, cr, pool = unique("local"), unique("loop-pv"), unique("hpp"), unique("tpl")
    mount_point = os.path.join(scratch, "myvolumes")
    mounts.append(mount_point)
    server.create(storage_class(local_class, provisioner="kubernetes.io/no-provisioner",
                                binding="WaitForFirstConsumer", reclaim="Retain"))
    server.create(local_pv(pv_name, device, "512Mi", local_class, mode="Block"))
    template = {"volumeMode": "Block", "storageClassName": local_class,
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}}}
    server.create(provisioner(cr, [{"name": pool, "path": mount_point, "pvcTemplate": template}]))
    pool_claim = f"hpp-pool-{pool}-{NODE}"
    try:
        status = wait_pool_ready(server, cr, pool, timeout=120)
        mount = mounted_at(mount_point)
        assert mount and mount[2] == "xfs", mount
        assert subprocess.run(["blkid", "-o", "value", "-s", "TYPE", device], capture_output=True,
                              text=True).stdout.strip() == "xfs"
        claim_status = pool_status(status, pool)["claimStatuses"][0]
        assert claim_status["name"] == pool_claim
        assert claim_status["status"]["phase"] == "Bound"
        assert get(server, "pv", pv_name)["status"]["phase"] == "Bound"
        assert f"made an XFS file system on {device}" in wait_event(server, cr, "PoolFormatted")

        sc = unique("tpl-sc")
        server.create(storage_class(sc, pool))
        server.create(blank_dv("in-pool", "100Mi", sc), "-n", ns)
        wait_dv(server, ns, "in-pool")
        image = disk_image(server, ns, "in-pool")
        assert image.startswith(mount_point + "/csi/")
        assert os.stat(image).st_size == usable(100 * MiB) == 94 * MiB
        assert os.stat(image).st_dev == os.stat(mount_point).st_dev  # on the loop device's XFS

        # Bigger than the pool's file system: refused, nothing written.
        server.create(blank_dv("too-big", "2Gi", sc), "-n", ns)
        assert "cannot hold" in wait_event(server, "too-big", "ProvisioningFailed", ns)
        server.kubectl("delete", "dv", "too-big", "-n", ns)

        volume_dir = os.path.dirname(image)
        server.kubectl("delete", "dv", "in-pool", "-n", ns)
        wait_for(lambda: not os.path.exists(volume_dir), timeout=30, what="volume removed")

        # Removing the pool unmounts it and releases its claim (a CR keeps at least one pool).
        other = {"name": unique("other"), "path": os.path.join(scratch, "other")}
        server.kubectl("patch", "hostpathprovisioner", cr, "--type=merge", "-p",
                       json.dumps({"spec": {"storagePools": [other]}}))
        wait_for(lambda: not mounted_at(mount_point), timeout=30, what="pool unmounted")
        wait_gone(server, "pvc", pool_claim, "-n", "openshift-cnv")
        assert "unmounted" in wait_event(server, cr, "PoolRemoved")
    finally:
        server.kubectl("delete", "hostpathprovisioner", cr, "--wait=false", check=False)
        wait_gone(server, "hostpathprovisioner", cr)
        server.kubectl("delete", "pv", pv_name, check=False)


# ---- 9.20.3 data volumes, storage profiles; 9.20.4 overhead --------------------------------------

def test_storage_api_fills_modes_and_inflates_for_overhead(shared_vdisk, ns):
    server = shared_vdisk
    server.create(blank_dv("by-storage", "1Gi", api="storage"), "-n", ns)
    wait_dv(server, ns, "by-storage")
    pvc = get(server, "pvc", "by-storage", "-n", ns)
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["spec"]["storageClassName"] == "vdisk-hostpath"
    requested = int(pvc["spec"]["resources"]["requests"]["storage"])
    assert requested == required(GiB) == 1136234735
    assert os.stat(disk_image(server, ns, "by-storage")).st_size == usable(requested) == GiB

    # The PVC API takes the claim exactly as written.
    server.create(blank_dv("by-pvc", "1Gi"), "-n", ns)
    wait_dv(server, ns, "by-pvc")
    pvc = get(server, "pvc", "by-pvc", "-n", ns)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert os.stat(disk_image(server, ns, "by-pvc")).st_size == usable(GiB) == 967 * MiB


def test_empty_storage_profile_creates_no_claim_until_the_admin_fills_it(shared_vdisk, ns):
    """9.20.3.3: modes that cannot be determined: no PVC, and the conditions say why."""
    server, sc = shared_vdisk, unique("unknown-provisioner-class")
    server.create(storage_class(sc, provisioner="example.com/unknown-provisioner"))
    wait_for(lambda: (get(server, "storageprofile", sc) or {}).get("status", {}).get("provisioner"),
             what="storage profile")
    profile = get(server, "storageprofile", sc)
    assert "claimPropertySets" not in profile["status"]
    server.create(blank_dv("undetermined", "1Gi", sc, api="storage"), "-n", ns)

    def not_valid():
        ready = condition(get(server, "dv", "undetermined", "-n", ns), "Ready")
        return ready if ready.get("reason") == "ErrClaimNotValid" else None
    ready = wait_for(not_valid, timeout=30, what="ErrClaimNotValid")
    assert ready["status"] == "False" and "claimPropertySets" in ready["message"], ready
    assert not server.exists("pvc", "undetermined", "-n", ns)

    server.kubectl("patch", "storageprofile", sc, "--type=merge", "-p", json.dumps(
        {"spec": {"claimPropertySets": [{"accessModes": ["ReadWriteOnce"],
                                         "volumeMode": "Filesystem"}]}}))
    wait_for(lambda: server.exists("pvc", "undetermined", "-n", ns), timeout=30,
             what="the claim once the profile is filled")
    pvc = get(server, "pvc", "undetermined", "-n", ns)
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_per_class_filesystem_overhead_sizes_the_image(shared_vdisk, ns):
    """9.20.4.2: the HCO's per-class overhead shows in CDIConfig and sizes disk.img."""
    server, sc = shared_vdisk, unique("overhead")
    server.create(storage_class(sc, "default"))
    server.kubectl("patch", "hco", "kubevirt-hyperconverged", "-n", "openshift-cnv",
                   "--type=merge", "-p",
                   json.dumps({"spec": {"filesystemOverhead": {"storageClass": {sc: "0.1"}}}}))
    try:
        def shown():
            out = server.kubectl("get", "cdiconfig", "-o",
                                 "jsonpath={.items..status.filesystemOverhead}").stdout
            return json.loads(out)["storageClass"].get(sc) == "0.1" if out else False
        wait_for(shown, timeout=30, what="overhead in CDIConfig status")
        server.create(blank_dv("ten-percent", "100Mi", sc), "-n", ns)
        wait_dv(server, ns, "ten-percent")
        assert os.stat(disk_image(server, ns, "ten-percent")).st_size == usable(100 * MiB, 0.1)
        assert usable(100 * MiB, 0.1) == 90 * MiB
    finally:
        server.kubectl("patch", "hco", "kubevirt-hyperconverged", "-n", "openshift-cnv",
                       "--type=merge", "-p",
                       json.dumps({"spec": {"filesystemOverhead": {"storageClass": {sc: None}}}}))


# ---- 9.20.7 preallocation; 9.20.13 blank; 9.20.21 deletion ---------------------------------------

def test_preallocated_blank_image_has_every_block(shared_vdisk, ns):
    server = shared_vdisk
    server.create(blank_dv("prealloc", "64Mi", preallocation=True), "-n", ns)
    server.create(blank_dv("sparse", "64Mi"), "-n", ns)
    wait_dv(server, ns, "prealloc")
    wait_dv(server, ns, "sparse")
    image = os.stat(disk_image(server, ns, "prealloc"))
    assert image.st_size == 60 * MiB
    assert image.st_blocks * 512 >= image.st_size
    pvc = get(server, "pvc", "prealloc", "-n", ns)
    assert pvc["metadata"]["annotations"]["cdi.kubevirt.io/storage.preallocation"] == "true"
    sparse = os.stat(disk_image(server, ns, "sparse"))
    assert sparse.st_size == 60 * MiB and sparse.st_blocks * 512 < MiB


def test_blank_example_then_list_and_delete(shared_vdisk, ns):
    """9.20.13.2 as written, then 9.20.21: `get dvs` lists it, `delete dv` removes its claim,
    its volume and, with the Delete policy, its data."""
    server = shared_vdisk
    server.kubectl("create", "-n", ns, "-f", os.path.join(EXAMPLES, "20-dv-blank.yaml"))
    wait_dv(server, ns, "blank-image-datavolume")
    pv, volume_dir = volume_of(server, ns, "blank-image-datavolume")
    assert os.stat(os.path.join(volume_dir, "disk.img")).st_size == usable(500 * MiB) == 472 * MiB
    listed = server.kubectl("get", "dvs", "-n", ns).stdout
    assert "blank-image-datavolume" in listed and "Succeeded" in listed

    server.kubectl("delete", "dv", "blank-image-datavolume", "-n", ns)
    wait_gone(server, "pvc", "blank-image-datavolume", "-n", ns)
    wait_gone(server, "pv", pv["metadata"]["name"])
    assert not os.path.exists(volume_dir)
    assert "blank-image-datavolume" not in server.kubectl("get", "dvs", "-n", ns).stdout


def test_deleting_a_dv_of_a_retain_class_keeps_the_data(shared_vdisk, ns):
    server, sc = shared_vdisk, unique("keep")
    server.create(storage_class(sc, "default", reclaim="Retain"))
    server.create(blank_dv("kept", "16Mi", sc), "-n", ns)
    wait_dv(server, ns, "kept")
    pv, volume_dir = volume_of(server, ns, "kept")
    server.kubectl("delete", "dv", "kept", "-n", ns)
    wait_gone(server, "pvc", "kept", "-n", ns)
    wait_phase(server, "pv", pv["metadata"]["name"], "Released")
    assert os.path.getsize(os.path.join(volume_dir, "disk.img")) == usable(16 * MiB)
    server.kubectl("delete", "pv", pv["metadata"]["name"])


# ---- 9.20.10.4 local block PVs -------------------------------------------------------------------

def test_local_block_pv_file_stand_in_and_missing_path(shared_vdisk, ns, scratch):
    server, local = shared_vdisk, unique("local")
    server.create(storage_class(local, provisioner="kubernetes.io/no-provisioner",
                                binding="WaitForFirstConsumer", reclaim="Retain"))
    # A regular file standing in for a block device.
    stand_in = os.path.join(scratch, "loop10")
    with open(stand_in, "wb") as f:
        f.truncate(64 * MiB)
    good = unique("local-block-pv")
    server.create(local_pv(good, stand_in, "64Mi", local, mode="Block"))
    wait_phase(server, "pv", good, "Available")
    # A path that does not exist: listed like any PV, but a claim that would bind to it fails
    # it instead, saying where.
    missing = os.path.join(scratch, "no-such-device")
    bad = unique("local-block-pv")
    server.create(local_pv(bad, missing, "64Mi", local, mode="Block"))
    wait_phase(server, "pv", bad, "Available")

    immediate = {"cdi.kubevirt.io/storage.bind.immediate.requested": "true"}
    blk = claim("blk", "64Mi", local, mode="Block")
    blk["metadata"]["annotations"] = immediate
    server.create(blk, "-n", ns)
    wait_phase(server, "pvc", "blk", "Bound", ns=ns)
    assert get(server, "pvc", "blk", "-n", ns)["spec"]["volumeName"] == good
    second = claim("blk2", "64Mi", local, mode="Block")
    second["metadata"]["annotations"] = immediate
    server.create(second, "-n", ns)
    failed = wait_phase(server, "pv", bad, "Failed")
    assert failed["status"]["message"] == f"local path {missing} does not exist on node {NODE}"
    assert missing in wait_event(server, bad, "LocalPathMissing")
    assert missing in wait_event(server, "blk2", "FailedBinding", ns)
    assert get(server, "pvc", "blk2", "-n", ns)["status"]["phase"] == "Pending"
    # The path appears: the PV is usable again and the waiting claim takes it.
    with open(missing, "wb") as f:
        f.truncate(64 * MiB)
    wait_phase(server, "pvc", "blk2", "Bound", ns=ns)
    assert get(server, "pvc", "blk2", "-n", ns)["spec"]["volumeName"] == bad
    for name in ("blk", "blk2"):
        server.kubectl("delete", "pvc", name, "-n", ns)
    server.kubectl("delete", "pv", good, bad)


# ---- 9.20.19 reclaim -----------------------------------------------------------------------------

def test_reclaim_procedure_keeps_and_brings_back_the_data(shared_vdisk, ns, scratch):
    """9.20.19.2 step by step on a static local PV."""
    server, local, pv_name = shared_vdisk, unique("local"), unique("static-pv")
    data_dir = os.path.join(scratch, "share")
    os.mkdir(data_dir)
    server.create(storage_class(local, provisioner="kubernetes.io/no-provisioner",
                                reclaim="Delete"))
    server.create(local_pv(pv_name, data_dir, "1Gi", local, reclaim="Delete"))
    server.create(claim("data", "1Gi", local), "-n", ns)
    wait_phase(server, "pvc", "data", "Bound", ns=ns)
    with open(os.path.join(data_dir, "disk.img"), "wb") as f:
        f.write(b"guest data" * 1000)

    out = server.kubectl("get", "pv", pv_name, "-o", "yaml").stdout
    assert "persistentVolumeReclaimPolicy: Delete" in out
    server.kubectl("patch", "pv", pv_name, "-p",
                   '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}')
    assert "Retain" in server.kubectl("get", "pv", pv_name, "-o", "yaml").stdout
    server.kubectl("delete", "pvc", "data", "-n", ns)
    wait_phase(server, "pv", pv_name, "Released")
    exported = yaml.safe_load(server.kubectl("get", "pv", pv_name, "-o", "yaml").stdout)
    server.kubectl("delete", "pv", pv_name)
    assert os.path.getsize(os.path.join(data_dir, "disk.img")) == 10000  # Retain kept it

    # A new PV with a different name over the same storage configuration.
    new_name = unique("static-pv-new")
    spec = {k: v for k, v in exported["spec"].items() if k != "claimRef"}
    server.create({"apiVersion": "v1", "kind": "PersistentVolume",
                   "metadata": {"name": new_name}, "spec": spec})
    wait_phase(server, "pv", new_name, "Available")
    server.create(claim("data-again", "1Gi", local), "-n", ns)
    wait_phase(server, "pvc", "data-again", "Bound", ns=ns)
    assert get(server, "pvc", "data-again", "-n", ns)["spec"]["volumeName"] == new_name
    with open(os.path.join(data_dir, "disk.img"), "rb") as f:
        assert f.read() == b"guest data" * 1000
    server.kubectl("delete", "pvc", "data-again", "-n", ns)
    server.kubectl("delete", "pv", new_name)


# ---- 9.20.20 expansion ---------------------------------------------------------------------------

def test_expansion_grows_the_image_and_a_shrink_harms_nothing(shared_vdisk, ns):
    server = shared_vdisk
    server.create(blank_dv("grow", "64Mi"), "-n", ns)
    wait_dv(server, ns, "grow")
    image = disk_image(server, ns, "grow")
    assert os.stat(image).st_size == 60 * MiB
    server.kubectl("patch", "pvc", "grow", "-n", ns, "-p",
                   '{"spec":{"resources":{"requests":{"storage":"128Mi"}}}}')
    wait_for(lambda: os.stat(image).st_size == usable(128 * MiB) == 120 * MiB, timeout=30,
             what="disk.img grown")
    wait_for(lambda: get(server, "pvc", "grow", "-n", ns)["status"]["capacity"]["storage"]
             == "128Mi", timeout=30, what="capacity grown")
    assert "VolumeResizeSuccessful" in [r for r, _ in events(server, "grow", ns)]

    r = server.kubectl("patch", "pvc", "grow", "-n", ns, "-p",
                       '{"spec":{"resources":{"requests":{"storage":"32Mi"}}}}', check=False)
    assert r.returncode != 0 and "field can not be less than previous value" in r.stderr
    assert os.stat(image).st_size == 120 * MiB


def test_expansion_refused_when_the_class_does_not_allow_it(shared_vdisk, ns):
    server, sc = shared_vdisk, unique("fixed")
    server.create(storage_class(sc, "default"))  # allowVolumeExpansion unset: not allowed
    server.create(blank_dv("fixed", "64Mi", sc), "-n", ns)
    wait_dv(server, ns, "fixed")
    image = disk_image(server, ns, "fixed")

    # The binder recorded the class's answer as it bound the claim: the API refuses.
    r = server.kubectl("patch", "pvc", "fixed", "-n", ns, "-p",
                       '{"spec":{"resources":{"requests":{"storage":"128Mi"}}}}', check=False)
    assert r.returncode != 0, "the resize was accepted"
    assert ("only dynamically provisioned pvc can be resized and the storageclass that "
            "provisions the pvc must support resize") in r.stderr
    assert get(server, "pvc", "fixed", "-n", ns)["spec"]["resources"]["requests"][
        "storage"] == "64Mi"
    assert os.stat(image).st_size == 60 * MiB
