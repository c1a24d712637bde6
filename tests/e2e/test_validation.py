"""Invalid manifests are rejected with the field named, as kubectl prints a 422 from a cluster."""
import json
import os
import re

import pytest
import yaml

from conftest import EXAMPLES, unique

NS = "default"


def dv(spec, name="v-dv"):
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


BLANK = {"blank": {}}
HTTP = {"http": {"url": "https://images.example.test/disk.img"}}


def pvc_target(size="1Gi", modes=("ReadWriteOnce",), **extra):
    target = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    target.update(extra)
    return target


def pvc(name="v-pvc", size="1Gi", modes=("ReadWriteOnce",), **extra):
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    spec.update(extra)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


def pv(name="v-pv", **spec_overrides):
    spec = {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local",
            "local": {"path": "/dev/loop10"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node01"]}]}]}}}
    spec.update(spec_overrides)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": spec}


def sc(name="v-sc", **fields):
    obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
           "provisioner": "kubevirt.io.hostpath-provisioner"}
    obj.update(fields)
    return obj


def storage_profile(spec, name="v-sp"):
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "StorageProfile",
            "metadata": {"name": name}, "spec": spec}


def configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
            "data": {"a": "b"}}


# id -> (manifest, substrings (or patterns) kubectl's stderr must contain)
INVALID = {
    "configmap-bad-name": (
        configmap("Bad_Name"),
        ['The ConfigMap "Bad_Name" is invalid', 'metadata.name: Invalid value: "Bad_Name"']),
    "dv-bad-name": (
        dv({"source": BLANK, "pvc": pvc_target()}, name="Bad_Name"),
        ['The DataVolume "Bad_Name" is invalid', 'metadata.name: Invalid value: "Bad_Name"']),
    "pv-bad-name": (
        pv(name="Bad_Name"),
        ['The PersistentVolume "Bad_Name" is invalid', "metadata.name"]),
    "dv-bad-quantity": (
        dv({"source": BLANK, "pvc": pvc_target(size="2Gx")}),
        ['The DataVolume "v-dv" is invalid', "spec.pvc.resources.requests.storage", "2Gx"]),
    "dv-storage-bad-quantity": (
        dv({"source": BLANK, "storage": {"resources": {"requests": {"storage": "2Gx"}}}}),
        ['The DataVolume "v-dv" is invalid', "spec.storage.resources.requests.storage", "2Gx"]),
    "pvc-bad-quantity": (
        pvc(size="2Gx"),
        ["spec.resources.requests.storage", "2Gx"]),
    "pvc-bad-access-mode": (
        pvc(modes=("ReadWriteSometimes",)),
        ['The PersistentVolumeClaim "v-pvc" is invalid',
         re.compile(r'spec\.accessModes(\[0\])?: Unsupported value: "ReadWriteSometimes"')]),
    "dv-bad-access-mode": (
        dv({"source": BLANK, "pvc": pvc_target(modes=("ReadWriteSometimes",))}),
        ['The DataVolume "v-dv" is invalid', "spec.pvc.accessModes", "ReadWriteSometimes"]),
    "pvc-bad-volume-mode": (
        pvc(volumeMode="Blok"),
        ['spec.volumeMode: Unsupported value: "Blok"']),
    "dv-bad-volume-mode": (
        dv({"source": BLANK, "storage": {"volumeMode": "Blok",
                                         "resources": {"requests": {"storage": "1Gi"}}}}),
        ["spec.storage.volumeMode", "Blok"]),
    "pv-bad-reclaim-policy": (
        pv(persistentVolumeReclaimPolicy="Destroy"),
        ['The PersistentVolume "v-pv" is invalid',
         'spec.persistentVolumeReclaimPolicy: Unsupported value: "Destroy"']),
    "sc-bad-reclaim-policy": (
        sc(reclaimPolicy="Destroy"),
        ['The StorageClass "v-sc" is invalid', 'reclaimPolicy: Unsupported value: "Destroy"']),
    "sc-bad-binding-mode": (
        sc(volumeBindingMode="Later"),
        ['The StorageClass "v-sc" is invalid', 'volumeBindingMode: Unsupported value: "Later"']),
    "storageprofile-bad-clone-strategy": (
        storage_profile({"cloneStrategy": "teleport"}),
        ['The StorageProfile "v-sp" is invalid', "spec.cloneStrategy", "teleport"]),
    "storageprofile-bad-access-mode": (
        storage_profile({"claimPropertySets": [{"accessModes": ["ReadWriteSometimes"],
                                                "volumeMode": "Filesystem"}]}),
        ["spec.claimPropertySets[0].accessModes", "ReadWriteSometimes"]),
    "dv-two-sources": (
        dv({"source": {**BLANK, **HTTP}, "pvc": pvc_target()}),
        ['The DataVolume "v-dv" is invalid', "spec.source"]),
    "dv-no-source": (
        dv({"source": {}, "pvc": pvc_target()}),
        ['The DataVolume "v-dv" is invalid', "spec.source"]),
    "dv-missing-source": (
        dv({"pvc": pvc_target()}),
        ['The DataVolume "v-dv" is invalid', "spec.source"]),
    "dv-pvc-and-storage": (
        dv({"source": BLANK, "pvc": pvc_target(),
            "storage": {"resources": {"requests": {"storage": "1Gi"}}}}),
        ['The DataVolume "v-dv" is invalid', "spec.storage"]),
    "dv-neither-pvc-nor-storage": (
        dv({"source": BLANK}),
        ['The DataVolume "v-dv" is invalid', "spec.pvc"]),
    "dv-url-without-scheme": (
        dv({"source": {"http": {"url": "example.exampleurl.com"}}, "pvc": pvc_target()}),
        ['The DataVolume "v-dv" is invalid', "spec.source.http.url",
         "example.exampleurl.com"]),
    "dv-registry-url-scheme": (
        dv({"source": {"registry": {"url": "http://registry.example.test/img"}},
            "storage": {"resources": {"requests": {"storage": "1Gi"}}}}),
        ["spec.source.registry.url"]),
    "dv-wrong-type": (
        dv({"source": BLANK, "pvc": pvc_target(), "preallocation": "yes"}),
        ['The DataVolume "v-dv" is invalid', "spec.preallocation"]),
    "dv-several-errors": (
        dv({"source": BLANK, "pvc": pvc_target(size="2Gx", modes=("ReadWriteSometimes",))}),
        ["spec.pvc.accessModes", "spec.pvc.resources.requests.storage"]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_manifest_is_rejected(shared_vdisk, case):
    manifest, needles = INVALID[case]
    r = shared_vdisk.create(manifest, check=False)
    assert r.returncode != 0, f"accepted:\n{r.stdout}"
    for needle in needles:
        if isinstance(needle, re.Pattern):
            assert needle.search(r.stderr), f"{needle.pattern!r} not in:\n{r.stderr}"
        else:
            assert needle in r.stderr, f"{needle!r} not in:\n{r.stderr}"
    # nothing was stored
    kind = manifest["kind"].lower()
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else ""
    args = [kind + ("." + group if group else ""), manifest["metadata"]["name"]]
    if "namespace" in manifest["metadata"]:
        args += ["-n", manifest["metadata"]["namespace"]]
    assert not shared_vdisk.exists(*args)


def test_invalid_manifest_rejected_by_apply_and_server_dry_run(shared_vdisk):
    manifest, needles = INVALID["dv-two-sources"]
    for verb in (["apply"], ["create", "--dry-run=server"]):
        r = shared_vdisk.kubectl(*verb, "-f", "-", input=json.dumps(manifest), check=False)
        assert r.returncode != 0
        for needle in needles:
            assert needle in r.stderr, r.stderr


def test_server_dry_run_stores_nothing(shared_vdisk):
    name = unique("dry")
    r = shared_vdisk.create(dv({"source": BLANK, "pvc": pvc_target()}, name=name),
                            "--dry-run=server")
    assert "(server dry run)" in r.stdout
    assert not shared_vdisk.exists("dv", name, "-n", NS)


@pytest.mark.parametrize("size,canonical", [("2Gi", "2Gi"), ("500Mi", "500Mi"),
                                            ("1.5G", "1500M"), ("1e9", "1e9"),
                                            ("2048Mi", "2Gi")])
def test_valid_quantities_are_accepted(shared_vdisk, size, canonical):
    """Core kinds return quantities in canonical form, as kube-apiserver does (1.5G -> 1500M);
    a DataVolume keeps either spelling."""
    name = unique("q")
    shared_vdisk.create(pvc(name=name, size=size))
    got = shared_vdisk.get_json("pvc", name, "-n", NS)["spec"]["resources"]["requests"]["storage"]
    assert got == canonical, f"{size} came back as {got}"
    name = unique("q")
    shared_vdisk.create(dv({"source": BLANK, "pvc": pvc_target(size=size)}, name=name))
    got = shared_vdisk.get_json("dv", name, "-n", NS)["spec"]["pvc"]["resources"]["requests"][
        "storage"]
    assert got in (size, canonical), f"{size} came back as {got}"


# ---- unknown fields -----------------------------------------------------------------------------

def dv_with_typo(name):
    manifest = dv({"source": BLANK, "pvc": pvc_target()}, name=name)
    manifest["spec"]["sourc"] = {"blank": {}}
    return manifest


def test_unknown_field_is_rejected_under_strict_validation(shared_vdisk):
    name = unique("typo")
    for extra in ([], ["--validate=strict"]):
        r = shared_vdisk.create(dv_with_typo(name), *extra, check=False)
        assert r.returncode != 0, r.stdout
        assert 'unknown field "spec.sourc"' in r.stderr, r.stderr
        assert not shared_vdisk.exists("dv", name, "-n", NS)


def test_unknown_field_in_core_kind_and_metadata(shared_vdisk):
    claim = pvc(name=unique("typo"))
    claim["spec"]["accessMode"] = ["ReadWriteOnce"]
    claim["metadata"]["labelz"] = {"a": "b"}
    r = shared_vdisk.create(claim, check=False)
    assert r.returncode != 0
    assert 'unknown field "spec.accessMode"' in r.stderr, r.stderr
    assert 'unknown field "metadata.labelz"' in r.stderr, r.stderr


def test_unknown_field_warns_or_is_ignored_when_asked(shared_vdisk):
    name = unique("typo")
    r = shared_vdisk.create(dv_with_typo(name), "--validate=warn")
    assert 'unknown field "spec.sourc"' in r.stderr, r.stderr
    assert "sourc" not in shared_vdisk.get_json("dv", name, "-n", NS)["spec"]
    name = unique("typo")
    r = shared_vdisk.create(dv_with_typo(name), "--validate=false")
    assert "sourc" not in shared_vdisk.get_json("dv", name, "-n", NS)["spec"]


# ---- immutable fields ---------------------------------------------------------------------------

def test_storage_class_parameters_are_immutable(shared_vdisk):
    name = unique("sc")
    shared_vdisk.create(sc(name, parameters={"storagePool": "my-storage-pool"}))
    r = shared_vdisk.kubectl("patch", "sc", name, "--type=merge", "-p",
                             '{"parameters":{"storagePool":"other"}}', check=False)
    assert r.returncode != 0
    assert f'The StorageClass "{name}" is invalid' in r.stderr, r.stderr
    assert "parameters: Forbidden" in r.stderr, r.stderr
    r = shared_vdisk.kubectl("patch", "sc", name, "--type=merge", "-p",
                             '{"parameters":{"extra":"x"}}', check=False)
    assert r.returncode != 0 and "parameters: Forbidden" in r.stderr, r.stderr
    assert shared_vdisk.get_json("sc", name)["parameters"] == {"storagePool": "my-storage-pool"}
    # metadata stays mutable
    shared_vdisk.kubectl("label", "sc", name, "tier=fast")
    assert shared_vdisk.get_json("sc", name)["metadata"]["labels"] == {"tier": "fast"}


def test_pvc_may_grow_but_not_shrink(shared_vdisk):
    name = unique("grow")
    shared_vdisk.create(pvc(name=name, size="2Gi"))

    def size():
        return shared_vdisk.get_json("pvc", name, "-n", NS)["spec"]["resources"]["requests"][
            "storage"]

    r = shared_vdisk.kubectl("patch", "pvc", name, "-n", NS, "-p",
                             '{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}')
    assert f"persistentvolumeclaim/{name} patched" in r.stdout
    assert size() == "3Gi"
    r = shared_vdisk.kubectl("patch", "pvc", name, "-n", NS, "-p",
                             '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}', check=False)
    assert r.returncode != 0
    assert f'The PersistentVolumeClaim "{name}" is invalid' in r.stderr, r.stderr
    assert "spec.resources.requests.storage" in r.stderr, r.stderr
    assert size() == "3Gi"
    r = shared_vdisk.kubectl("patch", "pvc", name, "-n", NS, "--type=merge", "-p",
                             '{"spec":{"accessModes":["ReadWriteMany"]}}', check=False)
    assert r.returncode != 0
    assert f'The PersistentVolumeClaim "{name}" is invalid' in r.stderr, r.stderr
    assert "spec: Forbidden" in r.stderr, r.stderr


def test_pvc_expansion_by_apply(shared_vdisk):
    """The example 24 is a PVC after its request was raised: apply the smaller one, then it."""
    with open(os.path.join(EXAMPLES, "24-pvc-expand.yaml")) as f:
        expanded = yaml.safe_load(f)
    namespace = unique("expand")
    shared_vdisk.create_namespace(namespace)
    smaller = json.loads(json.dumps(expanded))
    smaller["spec"]["resources"]["requests"]["storage"] = "2Gi"
    shared_vdisk.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(smaller))
    r = shared_vdisk.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(expanded))
    assert "persistentvolumeclaim/vm-disk-expand configured" in r.stdout
    got = shared_vdisk.get_json("pvc", "vm-disk-expand", "-n", namespace)
    assert got["spec"]["resources"]["requests"]["storage"] == "3Gi"


def test_pv_volume_source_is_immutable(shared_vdisk):
    name = unique("pv")
    shared_vdisk.create(pv(name=name))
    r = shared_vdisk.kubectl("patch", "pv", name, "--type=merge", "-p",
                             '{"spec":{"local":{"path":"/dev/loop11"}}}', check=False)
    assert r.returncode != 0
    assert f'The PersistentVolume "{name}" is invalid' in r.stderr, r.stderr
    assert "Forbidden" in r.stderr and ("spec.persistentvolumesource" in r.stderr or
                                        "spec.local" in r.stderr), r.stderr
    assert shared_vdisk.get_json("pv", name)["spec"]["local"]["path"] == "/dev/loop10"
    # replacing the source with another kind of source is just as forbidden
    r = shared_vdisk.kubectl("patch", "pv", name, "--type=merge", "-p",
                             '{"spec":{"local":null,"hostPath":{"path":"/tmp/x"}}}', check=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr, r.stderr
    # other fields, such as the reclaim policy, may change
    shared_vdisk.kubectl("patch", "pv", name, "--type=merge", "-p",
                         '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}')
    assert shared_vdisk.get_json("pv", name)["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


def test_datavolume_spec_is_immutable(shared_vdisk):
    name = unique("imm")
    shared_vdisk.create(dv({"source": BLANK, "pvc": pvc_target()}, name=name))
    r = shared_vdisk.kubectl("patch", "dv", name, "-n", NS, "--type=merge", "-p",
                             '{"spec":{"preallocation":true}}', check=False)
    assert r.returncode != 0
    assert f'The DataVolume "{name}" is invalid' in r.stderr and "spec" in r.stderr, r.stderr
