"""Every manifest of the spec's examples, applied in file order on one server with `kubectl apply`,
is accepted and round-trips through `kubectl get -o yaml` and `-o json`.

`12-dv-annotations.yaml` is copied verbatim from the manual and its `url` has no scheme: it must be
rejected, naming the field. Status is owned by the system, so an example's `status` (the
StorageProfile of 07) is not compared; quantities may come back in canonical form.
"""
import glob
import json
import os
import re
import shutil
import tempfile
from decimal import Decimal

import pytest
import yaml

from conftest import EXAMPLES, Vdisk

REJECTED = {
    "12-dv-annotations.yaml": ['The DataVolume "dv-ann" is invalid', "spec.source.http.url"],
}
CLUSTER_SCOPED = {"PersistentVolume", "StorageClass", "StorageProfile", "HostPathProvisioner"}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
FILES = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))

_SUFFIX = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
           "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|"
                       r"[eE][+-]?\d+)?$")


def quantity_value(text):
    """The value of a Kubernetes quantity string, or None when it is not one."""
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    if not isinstance(text, str):
        return None
    m = _QUANTITY.match(text)
    if not m:
        return None
    number, suffix = Decimal(m.group(1)), m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * _SUFFIX[suffix]


def is_quantity_path(path):
    return any(part in ("requests", "limits", "capacity") for part in path)


def subset_mismatches(expected, actual, path=()):
    """Where `actual` does not contain everything `expected` has (lists compare element-wise and
    must have the same length; the server may add defaulted fields inside objects)."""
    where = ".".join(str(p) for p in path) or "<root>"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                out += subset_mismatches(value, actual[key], path + (key,))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += subset_mismatches(e, a, path + (i,))
        return out
    if expected == actual:
        return []
    if is_quantity_path(path):
        e, a = quantity_value(expected), quantity_value(actual)
        if e is not None and e == a:
            return []
    return [f"{where}: expected {expected!r}, got {actual!r}"]


def kubectl_args_for(doc):
    """`kubectl get` arguments naming the object a manifest describes."""
    api_version = doc["apiVersion"]
    group = api_version.split("/")[0] if "/" in api_version else ""
    resource = doc["kind"].lower() + ("." + group if group else "")
    args = [resource, doc["metadata"]["name"]]
    if doc["metadata"].get("namespace"):
        args += ["-n", doc["metadata"]["namespace"]]
    return args


@pytest.fixture(scope="module")
def applied():
    """Applies every example in order on one server; records for each file kubectl's result and
    the objects read back right after (a later example may change the same object)."""
    data_dir = tempfile.mkdtemp(prefix="vdisk-e2e-examples-")
    server = Vdisk(data_dir)
    results = {}
    try:
        server.start()
        for path in FILES:
            name = os.path.basename(path)
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            result = server.kubectl("apply", "-f", path, check=False)
            readback = []
            for doc in docs:
                args = kubectl_args_for(doc)
                as_yaml = server.kubectl("get", *args, "-o", "yaml", check=False)
                readback.append((doc, args, as_yaml))
            results[name] = (result, readback)
        # -o json shows the same objects as -o yaml
        for resource in ("dv", "pvc", "pv", "sc", "storageprofile", "hostpathprovisioner",
                         "hco", "vm", "vmsnapshot", "vmrestore"):
            as_yaml = server.kubectl("get", resource, "-A", "-o", "yaml", check=False)
            as_json = server.kubectl("get", resource, "-A", "-o", "json", check=False)
            results["-o json " + resource] = (as_yaml, as_json)
        yield results
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_examples_are_present():
    names = [os.path.basename(p) for p in FILES]
    assert len(names) >= 27, names
    assert "12-dv-annotations.yaml" in names


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_example(applied, path):
    name = os.path.basename(path)
    result, readback = applied[name]
    if name in REJECTED:
        assert result.returncode != 0, f"{name} was accepted:\n{result.stdout}"
        for needle in REJECTED[name]:
            assert needle in result.stderr, result.stderr
        for doc, args, as_yaml in readback:
            assert as_yaml.returncode != 0 and "NotFound" in as_yaml.stderr, (
                f"a rejected {doc['kind']} was stored anyway:\n{as_yaml.stdout}")
        return

    assert result.returncode == 0, f"kubectl apply -f {name}:\n{result.stdout}\n{result.stderr}"
    assert re.search(r"\b(created|configured|unchanged)\b", result.stdout), result.stdout
    for doc, args, as_yaml in readback:
        assert as_yaml.returncode == 0, as_yaml.stderr
        obj = yaml.safe_load(as_yaml.stdout)

        assert obj["apiVersion"] == doc["apiVersion"]
        assert obj["kind"] == doc["kind"]
        meta, want_meta = obj["metadata"], doc["metadata"]
        assert meta["name"] == want_meta["name"]
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, meta
        else:
            assert meta["namespace"] == want_meta.get("namespace", "default")
        assert meta.get("uid") and meta.get("resourceVersion") and meta.get("creationTimestamp")
        # What the user wrote comes back unchanged; controllers may add their own annotations
        # (a bound claim gets pv.kubernetes.io/bind-completed, as on any cluster).
        assert (meta.get("labels") or {}) == (want_meta.get("labels") or {}), meta
        for key, value in (want_meta.get("annotations") or {}).items():
            assert meta["annotations"].get(key) == value, f"annotation {key}: {meta}"
        # kubectl apply records what it applied
        last = json.loads(meta["annotations"][LAST_APPLIED])
        assert last["metadata"]["name"] == want_meta["name"]

        want_body = {k: v for k, v in doc.items()
                     if k not in ("apiVersion", "kind", "metadata", "status")}
        problems = subset_mismatches(want_body, obj)
        assert not problems, f"{name}: {doc['kind']} did not round-trip:\n" + "\n".join(problems)


def test_json_and_yaml_output_agree(applied):
    checked = 0
    for key, (as_yaml, as_json) in applied.items():
        if not key.startswith("-o json "):
            continue
        assert as_yaml.returncode == 0 and as_json.returncode == 0, as_yaml.stderr + as_json.stderr
        from_yaml, from_json = yaml.safe_load(as_yaml.stdout), json.loads(as_json.stdout)
        assert from_yaml == from_json, key
        checked += len(from_json["items"])
    assert checked >= 20
