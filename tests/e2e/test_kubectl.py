"""kubectl's everyday verbs against vdisk behave as they do against a real cluster."""
import datetime
import json
import os
import re
import stat

import yaml

from conftest import EXAMPLES, LineReader, stop_process, unique, wait_for

DV = "datavolume.cdi.kubevirt.io"


# ---- manifests ------------------------------------------------------------------------------

def dv_blank(name, namespace, labels=None, size="1Gi"):
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"source": {"blank": {}},
                     "pvc": {"accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": size}}}}}


def configmap(name, namespace, data=None, labels=None, finalizers=None, owners=None):
    meta = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    if finalizers:
        meta["finalizers"] = finalizers
    if owners:
        meta["ownerReferences"] = owners
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


def pvc(name, namespace, size="1Gi", storage_class="standard"):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": size}}}}


def owner_ref(obj, block=False):
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
           "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- table parsing --------------------------------------------------------------------------

def header_columns(line):
    """Column titles of a kubectl table header (titles may contain one space: ACCESS MODES)."""
    return re.split(r"\s{2,}", line.strip())


def parse_table(text):
    """Rows of a kubectl table as dicts, cut at the header's column positions (cells may be
    empty)."""
    lines = [l for l in text.splitlines() if l.strip()]
    header = lines[0]
    titles = header_columns(header)
    starts, pos = [], 0
    for title in titles:
        pos = header.index(title, pos)
        starts.append(pos)
        pos += len(title)
    rows = []
    for line in lines[1:]:
        cells = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            cells.append(line[start:end].strip())
        rows.append(dict(zip(titles, cells)))
    return rows


# ---- get: tables ------------------------------------------------------------------------------

def test_get_dv_prints_upstream_columns(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("disk-a", ns))
    out = shared_vdisk.kubectl("get", "dv", "-n", ns).stdout
    assert header_columns(out.splitlines()[0]) == ["NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"]
    rows = parse_table(out)
    assert [r["NAME"] for r in rows] == ["disk-a"]
    # the plural short name and the full resource name give the same table
    assert shared_vdisk.kubectl("get", "dvs", "-n", ns).stdout.splitlines()[0] == \
        out.splitlines()[0]
    assert "disk-a" in shared_vdisk.kubectl("get", "datavolumes." + "cdi.kubevirt.io",
                                            "-n", ns).stdout


def test_get_pv_table(shared_vdisk):
    name, storage_class = unique("pv"), unique("local")
    shared_vdisk.create({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
        "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Delete", "storageClassName": storage_class,
                 "volumeMode": "Block", "local": {"path": "/dev/loop10"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In",
                      "values": ["node01"]}]}]}}}})
    out = shared_vdisk.kubectl("get", "pv", name).stdout
    assert header_columns(out.splitlines()[0]) == [
        "NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    row = parse_table(out)[0]
    assert row["NAME"] == name
    assert row["CAPACITY"] == "2Gi"
    assert row["ACCESS MODES"] == "RWO"
    assert row["RECLAIM POLICY"] == "Delete"
    assert row["STATUS"] == "Available"  # no claim of its class exists
    assert row["STORAGECLASS"] == storage_class
    wide = shared_vdisk.kubectl("get", "pv", name, "-o", "wide").stdout
    assert parse_table(wide)[0]["VOLUMEMODE"] == "Block"


def test_get_pvc_table(shared_vdisk, ns):
    storage_class = unique("no-such-class")
    shared_vdisk.create(pvc("claim-a", ns, storage_class=storage_class))
    out = shared_vdisk.kubectl("get", "pvc", "-n", ns).stdout
    assert header_columns(out.splitlines()[0]) == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE"]
    row = parse_table(out)[0]
    assert row["NAME"] == "claim-a"
    assert row["STATUS"] == "Pending"  # its class does not exist
    assert row["STORAGECLASS"] == storage_class
    wide = shared_vdisk.kubectl("get", "pvc", "-n", ns, "-o", "wide").stdout
    assert parse_table(wide)[0]["VOLUMEMODE"] == "Filesystem"  # the default volume mode


def test_get_sc_table_marks_the_default_class(shared_vdisk):
    default, other = unique("sc-default"), unique("sc-other")
    shared_vdisk.create({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": default,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubevirt.io.hostpath-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"})
    shared_vdisk.create({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": other},
        "provisioner": "example.com/other", "allowVolumeExpansion": True})
    out = shared_vdisk.kubectl("get", "sc", default, other).stdout
    assert header_columns(out.splitlines()[0]) == [
        "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    rows = {r["NAME"]: r for r in parse_table(out)}
    assert set(rows) == {default + " (default)", other}, rows
    row = rows[default + " (default)"]
    assert row["PROVISIONER"] == "kubevirt.io.hostpath-provisioner"
    assert row["RECLAIMPOLICY"] == "Delete"
    assert row["VOLUMEBINDINGMODE"] == "WaitForFirstConsumer"
    assert row["ALLOWVOLUMEEXPANSION"] == "false"
    assert rows[other]["VOLUMEBINDINGMODE"] == "Immediate"  # defaulted
    assert rows[other]["ALLOWVOLUMEEXPANSION"] == "true"


def test_get_vm_vmsnapshot_vmrestore_tables(shared_vdisk, ns):
    with open(os.path.join(EXAMPLES, "27-vm-with-datavolume.yaml")) as f:
        vm = yaml.safe_load(f)
    vm["metadata"]["namespace"] = ns
    shared_vdisk.create(vm)
    for example in ("16-vmsnapshot.yaml", "17-vmrestore.yaml"):
        shared_vdisk.kubectl("create", "-n", ns, "-f", os.path.join(EXAMPLES, example))

    out = shared_vdisk.kubectl("get", "vm", "-n", ns).stdout
    assert header_columns(out.splitlines()[0]) == ["NAME", "AGE", "STATUS", "READY"]
    assert parse_table(out)[0]["NAME"] == "my-vm"

    out = shared_vdisk.kubectl("get", "vmsnapshot", "-n", ns).stdout
    assert header_columns(out.splitlines()[0]) == [
        "NAME", "SOURCEKIND", "SOURCENAME", "PHASE", "READYTOUSE", "CREATIONTIME", "ERROR"]
    row = parse_table(out)[0]
    assert (row["NAME"], row["SOURCEKIND"], row["SOURCENAME"]) == \
        ("my-vmsnapshot", "VirtualMachine", "my-vm")

    out = shared_vdisk.kubectl("get", "vmrestore", "-n", ns).stdout
    assert header_columns(out.splitlines()[0]) == [
        "NAME", "TARGETKIND", "TARGETNAME", "COMPLETE", "RESTORETIME", "ERROR"]
    row = parse_table(out)[0]
    assert (row["NAME"], row["TARGETKIND"], row["TARGETNAME"]) == \
        ("my-vmrestore", "VirtualMachine", "my-vm")


def test_get_all_lists_the_all_category(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("in-all", ns))
    out = shared_vdisk.kubectl("get", "all", "-n", ns, "-o", "name").stdout.split()
    assert f"{DV}/in-all" in out


def test_get_output_formats(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("fmt", ns))
    assert shared_vdisk.kubectl("get", "dv", "fmt", "-n", ns, "-o", "name").stdout.strip() == \
        f"{DV}/fmt"
    uid = shared_vdisk.kubectl("get", "dv", "fmt", "-n", ns, "-o",
                               "jsonpath={.metadata.uid}").stdout
    assert re.fullmatch(r"[0-9a-f-]{36}", uid), uid
    out = shared_vdisk.kubectl("get", "dv", "-n", ns, "-o",
                               "custom-columns=N:.metadata.name,S:.spec.pvc.resources.requests.storage"
                               ).stdout
    assert out.split() == ["N", "S", "fmt", "1Gi"]
    listed = shared_vdisk.get_json("dv", "-n", ns)
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["fmt"]
    assert listed["items"][0]["kind"] == "DataVolume"


def test_get_missing_object_is_not_found(shared_vdisk, ns):
    r = shared_vdisk.kubectl("get", "dv", "nope", "-n", ns, check=False)
    assert r.returncode != 0
    assert 'Error from server (NotFound): datavolumes.cdi.kubevirt.io "nope" not found' in \
        r.stderr, r.stderr
    r = shared_vdisk.kubectl("get", "dv", "-n", ns)
    assert f"No resources found in {ns} namespace." in r.stderr


# ---- describe and events ----------------------------------------------------------------------

def event_for(obj, reason, message, event_type="Normal"):
    meta = obj["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{unique('ev')}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                               "name": meta["name"], "namespace": meta["namespace"],
                               "uid": meta["uid"]},
            "reason": reason, "message": message, "type": event_type, "count": 1,
            "firstTimestamp": now(), "lastTimestamp": now(),
            "source": {"component": "datavolume-controller"}}


def events_section(described):
    assert "Events:" in described, described
    return described.split("Events:", 1)[1]


def test_describe_dv_shows_its_events(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("described", ns, labels={"tier": "gold"}))
    shared_vdisk.create(dv_blank("bystander", ns))
    dv = shared_vdisk.get_json("dv", "described", "-n", ns)
    other = shared_vdisk.get_json("dv", "bystander", "-n", ns)
    shared_vdisk.create(event_for(dv, "ImportScheduled", "Import into described scheduled"))
    shared_vdisk.create(event_for(other, "CloneFailed", "not about the described volume",
                                  "Warning"))

    out = shared_vdisk.kubectl("describe", "dv", "described", "-n", ns).stdout
    assert re.search(r"^Name:\s+described$", out, re.M), out
    assert re.search(r"^Namespace:\s+" + ns + "$", out, re.M), out
    assert "tier=gold" in out
    events = events_section(out)
    assert re.search(r"Normal\s+ImportScheduled\s+.*datavolume-controller\s+"
                     r"Import into described scheduled", events), events
    assert "CloneFailed" not in events

    # `kubectl get events` sees both, with the involved object
    listed = shared_vdisk.kubectl("get", "events", "-n", ns).stdout
    assert "ImportScheduled" in listed and "CloneFailed" in listed
    assert "datavolume/described" in listed
    by_field = shared_vdisk.kubectl("get", "events", "-n", ns, "--field-selector",
                                    "involvedObject.name=bystander,reason=CloneFailed",
                                    "-o", "json").stdout
    items = json.loads(by_field)["items"]
    assert [e["involvedObject"]["name"] for e in items] == ["bystander"], items


def test_describe_pvc_shows_its_events(shared_vdisk, ns):
    shared_vdisk.create(pvc("claim-d", ns, storage_class=unique("no-such-class")))
    claim = shared_vdisk.get_json("pvc", "claim-d", "-n", ns)
    shared_vdisk.create(event_for(claim, "WaitForFirstConsumer",
                                  "waiting for first consumer to be created before binding"))
    r = shared_vdisk.kubectl("describe", "pvc", "claim-d", "-n", ns, check=False)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^Status:\s+Pending$", r.stdout, re.M), r.stdout
    assert "WaitForFirstConsumer" in events_section(r.stdout)


def test_describe_without_events(shared_vdisk, ns):
    shared_vdisk.create(configmap("quiet", ns, {"k": "v"}))
    out = shared_vdisk.kubectl("describe", "cm", "quiet", "-n", ns).stdout
    assert re.search(r"^Events:\s+<none>", out, re.M), out


# ---- patch --------------------------------------------------------------------------------------

def test_patch_json(shared_vdisk, ns):
    shared_vdisk.create(configmap("jp", ns, {"a": "1", "gone": "x"}))
    r = shared_vdisk.kubectl("patch", "cm", "jp", "-n", ns, "--type=json", "-p", json.dumps([
        {"op": "replace", "path": "/data/a", "value": "2"},
        {"op": "add", "path": "/data/b", "value": "3"},
        {"op": "remove", "path": "/data/gone"}]))
    assert "configmap/jp patched" in r.stdout
    assert shared_vdisk.get_json("cm", "jp", "-n", ns)["data"] == {"a": "2", "b": "3"}
    # a failing `test` operation rejects the whole patch
    r = shared_vdisk.kubectl("patch", "cm", "jp", "-n", ns, "--type=json", "-p", json.dumps([
        {"op": "replace", "path": "/data/a", "value": "9"},
        {"op": "test", "path": "/data/b", "value": "nope"}]), check=False)
    assert r.returncode != 0, r.stdout
    assert shared_vdisk.get_json("cm", "jp", "-n", ns)["data"] == {"a": "2", "b": "3"}


def test_patch_json_on_datavolume(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("jp-dv", ns))
    shared_vdisk.kubectl("patch", "dv", "jp-dv", "-n", ns, "--type=json", "-p", json.dumps([
        {"op": "add", "path": "/metadata/annotations", "value": {"note": "hello"}}]))
    dv = shared_vdisk.get_json("dv", "jp-dv", "-n", ns)
    assert dv["metadata"]["annotations"]["note"] == "hello"


def test_patch_merge(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("mp", ns, labels={"keep": "yes", "drop": "yes"}))
    r = shared_vdisk.kubectl("patch", "dv", "mp", "-n", ns, "--type=merge", "-p",
                             '{"metadata":{"labels":{"tier":"gold","drop":null}}}')
    assert f"{DV}/mp patched" in r.stdout
    dv = shared_vdisk.get_json("dv", "mp", "-n", ns)
    assert dv["metadata"]["labels"] == {"keep": "yes", "tier": "gold"}
    # merge patch replaces lists
    shared_vdisk.create(configmap("mp-cm", ns, finalizers=["example.com/a"]))
    shared_vdisk.kubectl("patch", "cm", "mp-cm", "-n", ns, "--type=merge", "-p",
                         '{"metadata":{"finalizers":["example.com/b"]}}')
    assert shared_vdisk.get_json("cm", "mp-cm", "-n", ns)["metadata"]["finalizers"] == \
        ["example.com/b"]
    shared_vdisk.kubectl("patch", "cm", "mp-cm", "-n", ns, "--type=merge", "-p",
                         '{"metadata":{"finalizers":null}}')


def test_patch_strategic_on_core_kinds(shared_vdisk, ns):
    shared_vdisk.create(configmap("smp", ns, {"a": "1", "b": "2"}, finalizers=["example.com/a"]))
    # strategic merge (kubectl's default patch type) merges the finalizers list
    r = shared_vdisk.kubectl("patch", "cm", "smp", "-n", ns, "-p",
                             '{"metadata":{"finalizers":["example.com/b"],"labels":{"x":"y"}},'
                             '"data":{"b":null,"c":"3"}}')
    assert "configmap/smp patched" in r.stdout
    cm = shared_vdisk.get_json("cm", "smp", "-n", ns)
    assert sorted(cm["metadata"]["finalizers"]) == ["example.com/a", "example.com/b"]
    assert cm["metadata"]["labels"] == {"x": "y"}
    assert cm["data"] == {"a": "1", "c": "3"}
    # $deleteFromPrimitiveList removes one entry
    shared_vdisk.kubectl("patch", "cm", "smp", "-n", ns, "--type=strategic", "-p",
                         '{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}}')
    assert shared_vdisk.get_json("cm", "smp", "-n", ns)["metadata"]["finalizers"] == \
        ["example.com/b"]
    shared_vdisk.kubectl("patch", "cm", "smp", "-n", ns, "--type=json", "-p",
                         '[{"op":"remove","path":"/metadata/finalizers"}]')

    # a PVC, with --type=strategic spelled out
    shared_vdisk.create(pvc("smp-claim", ns))
    shared_vdisk.kubectl("patch", "pvc", "smp-claim", "-n", ns, "--type=strategic", "-p",
                         '{"metadata":{"annotations":{"note":"x"}}}')
    assert shared_vdisk.get_json("pvc", "smp-claim", "-n", ns)["metadata"]["annotations"] == \
        {"note": "x"}


def test_patch_strategic_on_datavolume_is_unsupported(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("smp-dv", ns))
    for extra in ([], ["--type=strategic"]):
        r = shared_vdisk.kubectl("patch", "dv", "smp-dv", "-n", ns, *extra, "-p",
                                 '{"metadata":{"labels":{"a":"b"}}}', check=False)
        assert r.returncode != 0
        # kubectl rewords the server's 415 Unsupported Media Type
        assert "application/strategic-merge-patch+json is not supported by " \
               "cdi.kubevirt.io/v1beta1, Kind=DataVolume" in r.stderr, r.stderr
        assert "application/merge-patch+json" in r.stderr, r.stderr
    assert not shared_vdisk.get_json("dv", "smp-dv", "-n", ns)["metadata"].get("labels")


def test_patch_missing_object(shared_vdisk, ns):
    r = shared_vdisk.kubectl("patch", "cm", "nope", "-n", ns, "--type=merge", "-p", "{}",
                             check=False)
    assert r.returncode != 0 and 'configmaps "nope" not found' in r.stderr, r.stderr


# ---- label, annotate, selectors ---------------------------------------------------------------

def test_label_and_annotate(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("lab", ns))
    r = shared_vdisk.kubectl("label", "dv", "lab", "-n", ns, "env=prod")
    assert f"{DV}/lab labeled" in r.stdout
    r = shared_vdisk.kubectl("label", "dv", "lab", "-n", ns, "env=dev", check=False)
    assert r.returncode != 0 and "--overwrite is false" in r.stderr, r.stderr
    shared_vdisk.kubectl("label", "dv", "lab", "-n", ns, "env=dev", "--overwrite")
    assert shared_vdisk.get_json("dv", "lab", "-n", ns)["metadata"]["labels"] == {"env": "dev"}
    r = shared_vdisk.kubectl("label", "dv", "lab", "-n", ns, "env-")
    assert f"{DV}/lab unlabeled" in r.stdout
    assert not shared_vdisk.get_json("dv", "lab", "-n", ns)["metadata"].get("labels")

    r = shared_vdisk.kubectl("annotate", "dv", "lab", "-n", ns, "note=hello world")
    assert f"{DV}/lab annotated" in r.stdout
    assert shared_vdisk.get_json("dv", "lab", "-n", ns)["metadata"]["annotations"] == \
        {"note": "hello world"}
    shared_vdisk.kubectl("annotate", "dv", "lab", "-n", ns, "note-")
    assert not shared_vdisk.get_json("dv", "lab", "-n", ns)["metadata"].get("annotations")


def test_label_core_kind_and_show_labels(shared_vdisk, ns):
    shared_vdisk.create(configmap("shown", ns, {"k": "v"}))
    shared_vdisk.kubectl("label", "cm", "shown", "-n", ns, "app=web", "tier=front")
    out = shared_vdisk.kubectl("get", "cm", "shown", "-n", ns, "--show-labels").stdout
    assert header_columns(out.splitlines()[0]) == ["NAME", "DATA", "AGE", "LABELS"]
    row = parse_table(out)[0]
    assert row["DATA"] == "1"
    assert sorted(row["LABELS"].split(",")) == ["app=web", "tier=front"]


def test_label_and_field_selectors(shared_vdisk, ns):
    for name, labels in (("s-prod", {"env": "prod", "app": "db"}), ("s-dev", {"env": "dev"}),
                         ("s-none", {})):
        shared_vdisk.create(dv_blank(name, ns, labels=labels))

    def names(*args):
        out = shared_vdisk.kubectl("get", "dv", "-n", ns, "-o", "name", *args).stdout.split()
        return sorted(n.split("/", 1)[1] for n in out)

    assert names("-l", "env=prod") == ["s-prod"]
    assert names("-l", "env!=prod") == ["s-dev", "s-none"]
    assert names("-l", "env in (prod,dev)") == ["s-dev", "s-prod"]
    assert names("-l", "!env") == ["s-none"]
    assert names("-l", "env") == ["s-dev", "s-prod"]
    assert names("-l", "env=prod,app=db") == ["s-prod"]
    assert names("-l", "env=prod,app=web") == []
    assert names("--field-selector", "metadata.name=s-dev") == ["s-dev"]
    assert names("--field-selector", "metadata.name!=s-dev") == ["s-none", "s-prod"]
    assert names("--field-selector", f"metadata.namespace={ns}", "-l", "env=dev") == ["s-dev"]
    # across namespaces
    out = shared_vdisk.kubectl("get", "dv", "-A", "-l", "app=db", "-o", "name").stdout.split()
    assert out == [f"{DV}/s-prod"]
    out = shared_vdisk.kubectl("get", "dv", "-A", "--field-selector", "metadata.name=s-dev")
    assert ns in out.stdout and "s-dev" in out.stdout
    # a malformed selector is an error, not an empty list
    r = shared_vdisk.kubectl("get", "dv", "-n", ns, "--field-selector", "metadata.name", check=False)
    assert r.returncode != 0


# ---- edit -------------------------------------------------------------------------------------

def editor_script(tmp_path, sed_expression):
    """An EDITOR that logs each file it is given (to tmp_path/edited.log) and rewrites it."""
    path = tmp_path / "editor.sh"
    log = tmp_path / "edited.log"
    path.write_text(f"#!/bin/sh\ncat \"$1\" >> '{log}'\nexec sed -i -e '{sed_expression}' \"$1\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {"KUBE_EDITOR": str(path), "EDITOR": str(path)}


def test_edit_configmap(shared_vdisk, ns, tmp_path):
    shared_vdisk.create(configmap("ed", ns, {"color": "blue", "size": "big"}))
    env = editor_script(tmp_path, "s/color: blue/color: green/")
    r = shared_vdisk.kubectl("edit", "cm", "ed", "-n", ns, env=env)
    assert "configmap/ed edited" in r.stdout, r.stdout + r.stderr
    assert shared_vdisk.get_json("cm", "ed", "-n", ns)["data"] == {"color": "green",
                                                                   "size": "big"}


def test_edit_datavolume_metadata(shared_vdisk, ns, tmp_path):
    shared_vdisk.create(dv_blank("ed-dv", ns, labels={"tier": "bronze"}))
    env = editor_script(tmp_path, "s/tier: bronze/tier: silver/")
    r = shared_vdisk.kubectl("edit", "dv", "ed-dv", "-n", ns, env=env)
    assert f"{DV}/ed-dv edited" in r.stdout, r.stdout + r.stderr
    assert shared_vdisk.get_json("dv", "ed-dv", "-n", ns)["metadata"]["labels"] == \
        {"tier": "silver"}


def test_edit_without_changes(shared_vdisk, ns, tmp_path):
    shared_vdisk.create(configmap("ed-same", ns, {"a": "b"}))
    before = shared_vdisk.get_json("cm", "ed-same", "-n", ns)["metadata"]["resourceVersion"]
    env = editor_script(tmp_path, "s/nothing-matches-this//")
    r = shared_vdisk.kubectl("edit", "cm", "ed-same", "-n", ns, env=env)
    assert "Edit cancelled, no changes made." in r.stderr + r.stdout
    after = shared_vdisk.get_json("cm", "ed-same", "-n", ns)["metadata"]["resourceVersion"]
    assert before == after


def test_edit_to_an_invalid_object_is_refused(shared_vdisk, ns, tmp_path):
    shared_vdisk.create(configmap("ed-bad", ns, {"a": "b"}, labels={"ok": "yes"}))
    env = editor_script(tmp_path, "s/ok: \"yes\"/ok: \"not valid!\"/; s/ok: yes/ok: not valid!/")
    r = shared_vdisk.kubectl("edit", "cm", "ed-bad", "-n", ns, env=env, check=False)
    assert r.returncode != 0
    # kubectl reopened the editor with the server's complaint at the top of the file
    reopened = (tmp_path / "edited.log").read_text()
    assert re.search(r"^# .*metadata.labels", reopened, re.M), reopened
    assert shared_vdisk.get_json("cm", "ed-bad", "-n", ns)["metadata"]["labels"] == {"ok": "yes"}


# ---- delete and wait ----------------------------------------------------------------------------

def test_delete(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("del", ns))
    r = shared_vdisk.kubectl("delete", "dv", "del", "-n", ns)
    assert f'{DV} "del" deleted' in r.stdout
    assert not shared_vdisk.exists("dv", "del", "-n", ns)
    r = shared_vdisk.kubectl("delete", "dv", "del", "-n", ns, check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr
    r = shared_vdisk.kubectl("delete", "dv", "del", "-n", ns, "--ignore-not-found")
    assert r.returncode == 0


def test_delete_by_label_and_all(shared_vdisk, ns):
    for i in range(3):
        shared_vdisk.create(configmap(f"d{i}", ns, labels={"batch": "x" if i < 2 else "y"}))
    r = shared_vdisk.kubectl("delete", "cm", "-n", ns, "-l", "batch=x")
    assert 'configmap "d0" deleted' in r.stdout and 'configmap "d1" deleted' in r.stdout
    left = shared_vdisk.kubectl("get", "cm", "-n", ns, "-o", "name").stdout.split()
    assert left == ["configmap/d2"]
    shared_vdisk.kubectl("delete", "cm", "--all", "-n", ns)
    assert shared_vdisk.kubectl("get", "cm", "-n", ns, "-o", "name").stdout.split() == []


def test_delete_collection_over_the_api(shared_vdisk, ns):
    for i in range(3):
        shared_vdisk.create(configmap(f"c{i}", ns, labels={"group": "g" if i else "h"}))
    shared_vdisk.kubectl("delete", "--raw",
                         f"/api/v1/namespaces/{ns}/configmaps?labelSelector=group%3Dg")
    left = shared_vdisk.kubectl("get", "cm", "-n", ns, "-o", "name").stdout.split()
    assert left == ["configmap/c0"]


def test_wait_for_delete(shared_vdisk, ns):
    shared_vdisk.create(configmap("held", ns, finalizers=["example.com/hold"]))
    waiter = shared_vdisk.popen("wait", "--for=delete", "configmap/held", "-n", ns,
                                "--timeout=15s")
    try:
        r = shared_vdisk.kubectl("delete", "cm", "held", "-n", ns, "--wait=false")
        assert 'configmap "held" deleted' in r.stdout
        held = shared_vdisk.get_json("cm", "held", "-n", ns)
        assert held["metadata"].get("deletionTimestamp")
        assert waiter.poll() is None, "kubectl wait returned while the object still exists"
        shared_vdisk.kubectl("patch", "cm", "held", "-n", ns, "--type=json", "-p",
                             '[{"op":"remove","path":"/metadata/finalizers"}]')
        out, err = waiter.communicate(timeout=30)
        assert waiter.returncode == 0, err
        assert "configmap/held condition met" in out, out + err
    finally:
        stop_process(waiter)
    assert not shared_vdisk.exists("cm", "held", "-n", ns)


def test_wait_for_condition_and_jsonpath(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("waited", ns))
    waiter = shared_vdisk.popen("wait", "--for=condition=Ready", "dv/waited", "-n", ns,
                                "--timeout=15s")
    try:
        shared_vdisk.kubectl("patch", "dv", "waited", "-n", ns, "--subresource=status",
                             "--type=merge", "-p", json.dumps({"status": {
                                 "phase": "Succeeded", "progress": "100.0%",
                                 "conditions": [{"type": "Ready", "status": "True",
                                                 "lastTransitionTime": now(),
                                                 "reason": "Completed"}]}}))
        out, err = waiter.communicate(timeout=30)
        assert waiter.returncode == 0, err
        assert f"{DV}/waited condition met" in out
    finally:
        stop_process(waiter)
    r = shared_vdisk.kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", "dv/waited",
                             "-n", ns, "--timeout=15s")
    assert "condition met" in r.stdout


# ---- watch --------------------------------------------------------------------------------------

def test_get_watch(shared_vdisk, ns):
    shared_vdisk.create(configmap("w-first", ns, {"a": "1"}))
    proc = shared_vdisk.popen("get", "cm", "-n", ns, "-w")
    reader = LineReader(proc.stdout)
    try:
        reader.wait_for_line(lambda l: l.startswith("NAME"), what="the header")
        reader.wait_for_line(lambda l: l.startswith("w-first "), what="the existing object")
        shared_vdisk.create(configmap("w-second", ns, {"a": "1", "b": "2"}))
        line = reader.wait_for_line(lambda l: l.startswith("w-second "), what="the new object")
        assert line.split()[1] == "2"  # DATA column
        shared_vdisk.kubectl("patch", "cm", "w-first", "-n", ns, "--type=merge", "-p",
                             '{"data":{"b":"2","c":"3"}}')
        line = reader.wait_for_line(lambda l: l.startswith("w-first ") and l.split()[1] == "3",
                                    what="the modified object")
    finally:
        stop_process(proc)


def test_get_watch_output_events(shared_vdisk, ns):
    proc = shared_vdisk.popen("get", "dv", "-n", ns, "-w", "--output-watch-events")
    reader = LineReader(proc.stdout)
    try:
        shared_vdisk.create(dv_blank("w-dv", ns))
        reader.wait_for_line(lambda l: re.match(r"ADDED\s+w-dv\b", l), what="ADDED")
        shared_vdisk.kubectl("label", "dv", "w-dv", "-n", ns, "x=y")
        reader.wait_for_line(lambda l: re.match(r"MODIFIED\s+w-dv\b", l), what="MODIFIED")
        shared_vdisk.kubectl("delete", "dv", "w-dv", "-n", ns)
        reader.wait_for_line(lambda l: re.match(r"DELETED\s+w-dv\b", l), what="DELETED")
        header = [l for l in reader.lines if l.startswith("EVENT")]
        assert header and header_columns(header[0]) == [
            "EVENT", "NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"], reader.lines
    finally:
        stop_process(proc)


def test_get_watch_with_selector_and_json(shared_vdisk, ns):
    proc = shared_vdisk.popen("get", "cm", "-n", ns, "-w", "-l", "watched=yes", "-o", "json",
                              "--output-watch-events")
    reader = LineReader(proc.stdout)
    try:
        shared_vdisk.create(configmap("w-ignored", ns))
        shared_vdisk.create(configmap("w-wanted", ns, labels={"watched": "yes"}))
        reader.wait_for_line(lambda l: '"w-wanted"' in l, what="the selected object")
        assert not any("w-ignored" in l for l in reader.lines), reader.lines
    finally:
        stop_process(proc)


# ---- discovery, openapi, version --------------------------------------------------------------

# DESIGN.md's table: resource -> (short names required, apiVersion, namespaced, kind)
KINDS = {
    "namespaces": (["ns"], "v1", "false", "Namespace"),
    "nodes": (["no"], "v1", "false", "Node"),
    "persistentvolumes": (["pv"], "v1", "false", "PersistentVolume"),
    "persistentvolumeclaims": (["pvc"], "v1", "true", "PersistentVolumeClaim"),
    "secrets": ([], "v1", "true", "Secret"),
    "configmaps": (["cm"], "v1", "true", "ConfigMap"),
    "events": (["ev"], "v1", "true", "Event"),
    "storageclasses": (["sc"], "storage.k8s.io/v1", "false", "StorageClass"),
    "volumesnapshots": (["vs"], "snapshot.storage.k8s.io/v1", "true", "VolumeSnapshot"),
    "volumesnapshotcontents": ([], "snapshot.storage.k8s.io/v1", "false",
                               "VolumeSnapshotContent"),
    "volumesnapshotclasses": ([], "snapshot.storage.k8s.io/v1", "false", "VolumeSnapshotClass"),
    "datavolumes": (["dv", "dvs"], "cdi.kubevirt.io/v1beta1", "true", "DataVolume"),
    "storageprofiles": ([], "cdi.kubevirt.io/v1beta1", "false", "StorageProfile"),
    "cdiconfigs": ([], "cdi.kubevirt.io/v1beta1", "false", "CDIConfig"),
    "datasources": ([], "cdi.kubevirt.io/v1beta1", "true", "DataSource"),
    "uploadtokenrequests": ([], "upload.cdi.kubevirt.io/v1beta1", "true", "UploadTokenRequest"),
    "hostpathprovisioners": ([], "hostpathprovisioner.kubevirt.io/v1beta1", "false",
                             "HostPathProvisioner"),
    "hyperconvergeds": (["hco"], "hco.kubevirt.io/v1beta1", "true", "HyperConverged"),
    "virtualmachines": (["vm"], "kubevirt.io/v1", "true", "VirtualMachine"),
    "virtualmachineinstances": (["vmi"], "kubevirt.io/v1", "true", "VirtualMachineInstance"),
    "virtualmachinesnapshots": (["vmsnapshot"], "snapshot.kubevirt.io/v1alpha1", "true",
                                "VirtualMachineSnapshot"),
    "virtualmachinesnapshotcontents": ([], "snapshot.kubevirt.io/v1alpha1", "true",
                                       "VirtualMachineSnapshotContent"),
    "virtualmachinerestores": (["vmrestore"], "snapshot.kubevirt.io/v1alpha1", "true",
                               "VirtualMachineRestore"),
}


def test_api_resources_lists_every_kind(shared_vdisk):
    out = shared_vdisk.kubectl("api-resources").stdout
    assert header_columns(out.splitlines()[0]) == ["NAME", "SHORTNAMES", "APIVERSION",
                                                   "NAMESPACED", "KIND"]
    rows = {}
    for row in parse_table(out):
        rows[(row["NAME"], row["APIVERSION"])] = row
    for resource, (short, api_version, namespaced, kind) in KINDS.items():
        row = rows.get((resource, api_version))
        assert row, f"{resource} ({api_version}) missing from kubectl api-resources:\n{out}"
        shorts = row["SHORTNAMES"].split(",") if row["SHORTNAMES"] else []
        assert set(short) <= set(shorts), f"{resource}: short names {shorts}, want {short}"
        assert row["NAMESPACED"] == namespaced, resource
        assert row["KIND"] == kind, resource


def test_api_resources_by_group_and_short_names_resolve(shared_vdisk):
    out = shared_vdisk.kubectl("api-resources", "--api-group=cdi.kubevirt.io", "-o",
                               "name").stdout.split()
    assert {"datavolumes.cdi.kubevirt.io", "storageprofiles.cdi.kubevirt.io",
            "cdiconfigs.cdi.kubevirt.io", "datasources.cdi.kubevirt.io"} <= set(out)
    # every short name works with kubectl get
    r = shared_vdisk.kubectl("get", "dv,dvs,pvc,pv,sc,vs,vm,vmi,vmsnapshot,vmrestore", "-A")
    assert r.returncode == 0
    r = shared_vdisk.kubectl("get", "hco", "-n", "openshift-cnv", "-o", "name")
    assert r.stdout.strip() == "hyperconverged.hco.kubevirt.io/kubevirt-hyperconverged"


def test_api_versions(shared_vdisk):
    out = shared_vdisk.kubectl("api-versions").stdout.split()
    for gv in ("v1", "storage.k8s.io/v1", "snapshot.storage.k8s.io/v1", "cdi.kubevirt.io/v1beta1",
               "upload.cdi.kubevirt.io/v1beta1", "hostpathprovisioner.kubevirt.io/v1beta1",
               "hco.kubevirt.io/v1beta1", "kubevirt.io/v1", "snapshot.kubevirt.io/v1alpha1"):
        assert gv in out, out


def test_explain(shared_vdisk):
    out = shared_vdisk.kubectl("explain", "datavolume.spec.source").stdout
    assert re.search(r"^GROUP:\s+cdi.kubevirt.io$", out, re.M), out
    assert re.search(r"^KIND:\s+DataVolume$", out, re.M), out
    assert re.search(r"^VERSION:\s+v1beta1$", out, re.M), out
    assert re.search(r"^FIELD:\s+source\s+<\w+>", out, re.M), out
    for field in ("blank", "http", "pvc", "registry", "upload"):
        assert re.search(rf"^\s+{field}\s+<\w+>", out, re.M), f"{field} missing:\n{out}"
    out = shared_vdisk.kubectl("explain", "dv.spec.source.http.url").stdout
    assert re.search(r"^FIELD:\s+url\s+<string>", out, re.M), out
    out = shared_vdisk.kubectl("explain", "pvc.spec.accessModes").stdout
    assert re.search(r"^FIELD:\s+accessModes\s+<\[\]string>", out, re.M), out
    r = shared_vdisk.kubectl("explain", "dv.spec.nosuchfield", check=False)
    assert r.returncode != 0 and "nosuchfield" in r.stderr


def test_version(shared_vdisk):
    info = json.loads(shared_vdisk.kubectl("get", "--raw", "/version").stdout)
    assert info["major"] and info["minor"] and info["gitVersion"].startswith("v")
    version = json.loads(shared_vdisk.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == info["gitVersion"]


def test_bootstrap_objects(shared_vdisk):
    namespaces = shared_vdisk.kubectl("get", "ns", "-o", "name").stdout.split()
    for ns in ("default", "openshift-cnv", "openshift-virtualization-os-images"):
        assert f"namespace/{ns}" in namespaces
    out = shared_vdisk.kubectl("get", "ns", "default").stdout
    assert parse_table(out)[0]["STATUS"] == "Active"
    nodes = shared_vdisk.kubectl("get", "nodes", "-l", "kubernetes.io/hostname=node01", "-o",
                                 "name").stdout.split()
    assert nodes == ["node/node01"]
    assert parse_table(shared_vdisk.kubectl("get", "node", "node01").stdout)[0]["STATUS"] == \
        "Ready"
    hco = shared_vdisk.get_json("hco", "kubevirt-hyperconverged", "-n", "openshift-cnv")
    assert hco["kind"] == "HyperConverged"
    cdi = shared_vdisk.get_json("cdiconfig", "config")
    assert cdi["kind"] == "CDIConfig"
    overhead = shared_vdisk.kubectl("get", "cdiconfig", "-o",
                                    "jsonpath={.items..status.filesystemOverhead}").stdout
    assert overhead.strip(), "CDIConfig has no status.filesystemOverhead"
    assert "global" in json.loads(overhead)


# ---- object lifecycle -------------------------------------------------------------------------

def test_generate_name(shared_vdisk, ns):
    manifest = dv_blank("", ns)
    del manifest["metadata"]["name"]
    manifest["metadata"]["generateName"] = "disk-"
    names = []
    for _ in range(2):
        out = shared_vdisk.create(manifest).stdout
        m = re.search(rf"{DV}/(disk-[a-z0-9]+) created", out)
        assert m, out
        names.append(m.group(1))
    assert names[0] != names[1]
    assert all(len(n) > len("disk-") for n in names)
    listed = shared_vdisk.kubectl("get", "dv", "-n", ns, "-o", "name").stdout.split()
    assert sorted(listed) == sorted(f"{DV}/{n}" for n in names)
    dv = shared_vdisk.get_json("dv", names[0], "-n", ns)
    assert dv["metadata"]["generateName"] == "disk-"


def test_create_existing_is_already_exists(shared_vdisk, ns):
    shared_vdisk.create(configmap("dup", ns))
    r = shared_vdisk.create(configmap("dup", ns), check=False)
    assert r.returncode != 0
    assert 'Error from server (AlreadyExists)' in r.stderr and 'configmaps "dup" already exists' \
        in r.stderr, r.stderr


def test_metadata_uid_generation_resource_version(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("meta", ns))
    first = shared_vdisk.get_json("dv", "meta", "-n", ns)["metadata"]
    assert first["generation"] == 1
    shared_vdisk.kubectl("label", "dv", "meta", "-n", ns, "a=b")
    second = shared_vdisk.get_json("dv", "meta", "-n", ns)["metadata"]
    assert second["uid"] == first["uid"]
    assert second["generation"] == 1  # metadata changes leave generation alone
    assert second["resourceVersion"] != first["resourceVersion"]
    assert second["creationTimestamp"] == first["creationTimestamp"]


def test_replace_with_stale_resource_version_conflicts(shared_vdisk, ns):
    shared_vdisk.create(configmap("rv", ns, {"v": "1"}))
    stale = shared_vdisk.get_json("cm", "rv", "-n", ns)
    shared_vdisk.kubectl("patch", "cm", "rv", "-n", ns, "--type=merge", "-p",
                         '{"data":{"v":"2"}}')
    stale["data"]["v"] = "3"
    r = shared_vdisk.kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert r.returncode != 0
    assert "Error from server (Conflict)" in r.stderr, r.stderr
    assert 'Operation cannot be fulfilled on configmaps "rv": the object has been modified; ' \
           'please apply your changes to the latest version and try again' in r.stderr, r.stderr
    assert shared_vdisk.get_json("cm", "rv", "-n", ns)["data"] == {"v": "2"}
    # the same replace with the current resourceVersion succeeds
    fresh = shared_vdisk.get_json("cm", "rv", "-n", ns)
    fresh["data"]["v"] = "3"
    r = shared_vdisk.kubectl("replace", "-f", "-", input=json.dumps(fresh))
    assert "configmap/rv replaced" in r.stdout
    assert shared_vdisk.get_json("cm", "rv", "-n", ns)["data"] == {"v": "3"}


def test_apply_is_idempotent(shared_vdisk, ns):
    with open(os.path.join(EXAMPLES, "20-dv-blank.yaml")) as f:
        text = f.read()
    assert "datavolume.cdi.kubevirt.io/blank-image-datavolume created" in \
        shared_vdisk.kubectl("apply", "-n", ns, "-f", "-", input=text).stdout
    assert "datavolume.cdi.kubevirt.io/blank-image-datavolume unchanged" in \
        shared_vdisk.kubectl("apply", "-n", ns, "-f", "-", input=text).stdout
    labelled = text.replace("  name: blank-image-datavolume",
                            "  name: blank-image-datavolume\n  labels:\n    tier: gold")
    assert "datavolume.cdi.kubevirt.io/blank-image-datavolume configured" in \
        shared_vdisk.kubectl("apply", "-n", ns, "-f", "-", input=labelled).stdout
    assert shared_vdisk.get_json("dv", "blank-image-datavolume", "-n", ns)["metadata"][
        "labels"] == {"tier": "gold"}
    # a core kind goes through strategic merge
    claim = json.dumps(pvc("applied-claim", ns))
    assert "persistentvolumeclaim/applied-claim created" in shared_vdisk.apply(claim).stdout
    assert "persistentvolumeclaim/applied-claim unchanged" in shared_vdisk.apply(claim).stdout


def test_finalizers_hold_deletion(shared_vdisk, ns):
    shared_vdisk.create(configmap("fin", ns, {"a": "b"}, finalizers=["example.com/hold"]))
    r = shared_vdisk.kubectl("delete", "cm", "fin", "-n", ns, "--wait=false")
    assert 'configmap "fin" deleted' in r.stdout
    cm = shared_vdisk.get_json("cm", "fin", "-n", ns)
    assert cm["metadata"]["deletionTimestamp"]
    assert cm["metadata"]["finalizers"] == ["example.com/hold"]
    # deleting again changes nothing
    shared_vdisk.kubectl("delete", "cm", "fin", "-n", ns, "--wait=false")
    again = shared_vdisk.get_json("cm", "fin", "-n", ns)
    assert again["metadata"]["deletionTimestamp"] == cm["metadata"]["deletionTimestamp"]
    # the object can still be updated while it waits
    shared_vdisk.kubectl("label", "cm", "fin", "-n", ns, "still=here")
    shared_vdisk.kubectl("patch", "cm", "fin", "-n", ns, "--type=merge", "-p",
                         '{"metadata":{"finalizers":null}}')
    assert not shared_vdisk.exists("cm", "fin", "-n", ns)


# ---- garbage collection --------------------------------------------------------------------------

def test_gc_background(shared_vdisk, ns):
    shared_vdisk.create(configmap("owner-bg", ns))
    owner = shared_vdisk.get_json("cm", "owner-bg", "-n", ns)
    shared_vdisk.create(configmap("dep-bg", ns, owners=[owner_ref(owner)]))
    shared_vdisk.create(configmap("unrelated-bg", ns))
    # a DataVolume owned by a VirtualMachine, as dataVolumeTemplates make them
    with open(os.path.join(EXAMPLES, "27-vm-with-datavolume.yaml")) as f:
        vm = yaml.safe_load(f)
    vm["metadata"]["namespace"] = ns
    shared_vdisk.create(vm)
    vm = shared_vdisk.get_json("vm", "my-vm", "-n", ns)
    dv = dv_blank("vm-owned-disk", ns)
    dv["metadata"]["ownerReferences"] = [owner_ref(vm, block=True)]
    shared_vdisk.create(dv)

    shared_vdisk.kubectl("delete", "cm", "owner-bg", "-n", ns)
    shared_vdisk.kubectl("delete", "vm", "my-vm", "-n", ns)
    wait_for(lambda: not shared_vdisk.exists("cm", "dep-bg", "-n", ns), what="dependent deleted")
    wait_for(lambda: not shared_vdisk.exists("dv", "vm-owned-disk", "-n", ns),
             what="the VM's DataVolume deleted")
    assert shared_vdisk.exists("cm", "unrelated-bg", "-n", ns)


def test_gc_foreground_owner_waits_for_dependents(shared_vdisk, ns):
    shared_vdisk.create(configmap("owner-fg", ns))
    owner = shared_vdisk.get_json("cm", "owner-fg", "-n", ns)
    shared_vdisk.create(configmap("dep-fg", ns, owners=[owner_ref(owner, block=True)],
                                  finalizers=["example.com/hold"]))
    shared_vdisk.kubectl("delete", "cm", "owner-fg", "-n", ns, "--cascade=foreground",
                         "--wait=false")
    owner = shared_vdisk.get_json("cm", "owner-fg", "-n", ns)
    assert owner["metadata"].get("deletionTimestamp")
    assert "foregroundDeletion" in owner["metadata"].get("finalizers", [])
    # the garbage collector deletes the dependent, whose own finalizer keeps it for now
    wait_for(lambda: shared_vdisk.get_json("cm", "dep-fg", "-n", ns)["metadata"].get(
        "deletionTimestamp"), what="the dependent being deleted")
    assert shared_vdisk.exists("cm", "owner-fg", "-n", ns), "the owner did not wait"
    shared_vdisk.kubectl("patch", "cm", "dep-fg", "-n", ns, "--type=merge", "-p",
                         '{"metadata":{"finalizers":null}}')
    wait_for(lambda: not shared_vdisk.exists("cm", "owner-fg", "-n", ns), what="owner deleted")
    assert not shared_vdisk.exists("cm", "dep-fg", "-n", ns)


def test_gc_foreground_kubectl_waits(shared_vdisk, ns):
    shared_vdisk.create(configmap("owner-fw", ns))
    owner = shared_vdisk.get_json("cm", "owner-fw", "-n", ns)
    for i in range(3):
        shared_vdisk.create(configmap(f"dep-fw-{i}", ns, owners=[owner_ref(owner, block=True)]))
    r = shared_vdisk.kubectl("delete", "cm", "owner-fw", "-n", ns, "--cascade=foreground",
                             "--timeout=15s")
    assert 'configmap "owner-fw" deleted' in r.stdout
    # kubectl waited for the owner, and a foreground owner goes only after its dependents
    assert shared_vdisk.kubectl("get", "cm", "-n", ns, "-o", "name").stdout.split() == []


def test_gc_orphan(shared_vdisk, ns):
    shared_vdisk.create(configmap("owner-or", ns))
    owner = shared_vdisk.get_json("cm", "owner-or", "-n", ns)
    shared_vdisk.create(configmap("other-owner", ns))
    other = shared_vdisk.get_json("cm", "other-owner", "-n", ns)
    shared_vdisk.create(configmap("dep-or", ns, owners=[owner_ref(owner), owner_ref(other)]))
    r = shared_vdisk.kubectl("delete", "cm", "owner-or", "-n", ns, "--cascade=orphan",
                             "--wait=false")
    assert 'configmap "owner-or" deleted' in r.stdout
    # the owner goes once its dependents no longer point at it
    wait_for(lambda: not shared_vdisk.exists("cm", "owner-or", "-n", ns), what="owner deleted")
    dep = shared_vdisk.get_json("cm", "dep-or", "-n", ns)
    assert not dep["metadata"].get("deletionTimestamp")
    refs = [ref["uid"] for ref in dep["metadata"].get("ownerReferences", [])]
    assert refs == [other["metadata"]["uid"]], dep["metadata"]


def test_gc_dependent_of_missing_owner_is_collected(shared_vdisk, ns):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "never-existed",
             "uid": "00000000-0000-0000-0000-000000000001"}
    shared_vdisk.create(configmap("orphaned", ns, owners=[ghost]))
    wait_for(lambda: not shared_vdisk.exists("cm", "orphaned", "-n", ns),
             what="a dependent whose owner does not exist being collected")


# ---- namespaces ---------------------------------------------------------------------------------

def test_imperative_create_commands(shared_vdisk):
    """`kubectl create namespace|configmap|secret` use kubectl's typed clients, which send
    protobuf request bodies for built-in kinds."""
    name = unique("imp")
    r = shared_vdisk.kubectl("create", "namespace", name, check=False)
    assert r.returncode == 0, r.stderr
    assert f"namespace/{name} created" in r.stdout
    r = shared_vdisk.kubectl("create", "configmap", "settings", "-n", name,
                             "--from-literal=color=blue", "--from-literal=size=big", check=False)
    assert r.returncode == 0, r.stderr
    assert shared_vdisk.get_json("cm", "settings", "-n", name)["data"] == {"color": "blue",
                                                                          "size": "big"}
    r = shared_vdisk.kubectl("create", "secret", "generic", "creds", "-n", name,
                             "--from-literal=accessKeyId=user", check=False)
    assert r.returncode == 0, r.stderr
    secret = shared_vdisk.get_json("secret", "creds", "-n", name)
    assert secret["data"] == {"accessKeyId": "dXNlcg=="}  # base64("user")
    assert secret["type"] == "Opaque"


def test_namespace_lifecycle(shared_vdisk):
    name = unique("life")
    r = shared_vdisk.create_namespace(name)
    assert f"namespace/{name} created" in r.stdout
    shared_vdisk.create(configmap("inside", name))
    shared_vdisk.create(dv_blank("inside", name))
    shared_vdisk.create(pvc("claim-inside", name))
    listed = shared_vdisk.kubectl("get", "cm,dv,pvc", "-n", name, "-o", "name").stdout.split()
    # the DataVolume's own claim is there too
    assert {"configmap/inside", f"{DV}/inside", "persistentvolumeclaim/inside",
            "persistentvolumeclaim/claim-inside"} <= set(listed), listed
    # kubectl waits (with a watch) until the namespace and its content are gone
    r = shared_vdisk.kubectl("delete", "namespace", name, "--timeout=15s")
    assert f'namespace "{name}" deleted' in r.stdout
    assert not shared_vdisk.exists("namespace", name)
    r = shared_vdisk.kubectl("get", "cm,dv,pvc", "-n", name, "-o", "name")
    assert r.stdout.split() == []


def test_create_in_missing_namespace(shared_vdisk):
    r = shared_vdisk.create(configmap("x", "no-such-namespace"), check=False)
    assert r.returncode != 0
    assert 'namespaces "no-such-namespace" not found' in r.stderr, r.stderr


def test_terminating_namespace_refuses_new_content(shared_vdisk):
    name = unique("term")
    shared_vdisk.create_namespace(name)
    shared_vdisk.create(configmap("blocker", name, finalizers=["example.com/hold"]))
    shared_vdisk.kubectl("delete", "namespace", name, "--wait=false")
    phase = shared_vdisk.get_json("namespace", name)["status"]["phase"]
    assert phase == "Terminating"
    r = shared_vdisk.create(configmap("late", name), check=False)
    assert r.returncode != 0
    assert "because it is being terminated" in r.stderr, r.stderr
    shared_vdisk.kubectl("patch", "cm", "blocker", "-n", name, "--type=merge", "-p",
                         '{"metadata":{"finalizers":null}}')
    wait_for(lambda: not shared_vdisk.exists("namespace", name), what="namespace deleted")


# ---- status subresource -------------------------------------------------------------------------

def test_status_subresource(shared_vdisk, ns):
    shared_vdisk.create(dv_blank("st", ns))
    before = shared_vdisk.get_json("dv", "st", "-n", ns)
    r = shared_vdisk.kubectl("patch", "dv", "st", "-n", ns, "--subresource=status",
                             "--type=merge", "-o", "json", "-p",
                             '{"status":{"phase":"Succeeded","progress":"100.0%"},'
                             '"spec":{"preallocation":true}}')
    after = json.loads(r.stdout)
    assert after["status"]["phase"] == "Succeeded"
    assert after["spec"] == before["spec"], "a status write changed the spec"
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert shared_vdisk.get_json("dv", "st", "-n", ns)["spec"] == before["spec"]
    row = parse_table(shared_vdisk.kubectl("get", "dv", "st", "-n", ns).stdout)[0]
    assert (row["PHASE"], row["PROGRESS"]) == ("Succeeded", "100.0%")
    # the main resource ignores status
    r = shared_vdisk.kubectl("patch", "dv", "st", "-n", ns, "--type=merge", "-o", "json", "-p",
                             '{"status":{"phase":"Failed"}}')
    assert json.loads(r.stdout)["status"]["phase"] != "Failed"
    assert shared_vdisk.get_json("dv", "st", "-n", ns)["status"]["phase"] != "Failed"
    replaced = shared_vdisk.get_json("dv", "st", "-n", ns)
    replaced["status"] = {"phase": "Paused"}
    replaced["metadata"]["labels"] = {"replaced": "yes"}
    r = shared_vdisk.kubectl("replace", "-o", "json", "-f", "-", input=json.dumps(replaced))
    assert json.loads(r.stdout)["status"]["phase"] != "Paused"
    got = shared_vdisk.get_json("dv", "st", "-n", ns)
    assert got["status"]["phase"] != "Paused"
    assert got["metadata"]["labels"] == {"replaced": "yes"}
    # `kubectl get --subresource=status` reads it
    r = shared_vdisk.kubectl("get", "dv", "st", "-n", ns, "--subresource=status", "-o", "json")
    assert json.loads(r.stdout)["status"]["phase"] == "Succeeded"


def test_generation_counts_spec_changes(shared_vdisk):
    name = unique("sp")
    shared_vdisk.create({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "StorageProfile",
                         "metadata": {"name": name}, "spec": {}})
    assert shared_vdisk.get_json("storageprofile", name)["metadata"]["generation"] == 1
    shared_vdisk.kubectl("patch", "storageprofile", name, "--type=merge", "-p",
                         '{"spec":{"cloneStrategy":"copy"}}')
    assert shared_vdisk.get_json("storageprofile", name)["metadata"]["generation"] == 2
    r = shared_vdisk.kubectl("patch", "storageprofile", name, "--subresource=status",
                             "--type=merge", "-o", "json", "-p",
                             '{"status":{"provisioner":"example.com/x"}}')
    assert json.loads(r.stdout)["status"]["provisioner"] == "example.com/x"
    assert shared_vdisk.get_json("storageprofile", name)["metadata"]["generation"] == 2
