"""`vdisk serve` as a process: its data dir, credentials, durability, consistency, watch resume and
shutdown."""
import base64
import json
import os
import signal
import stat
import subprocess
import threading

import yaml

from conftest import VDISK_BIN, LineReader, stop_process, wait_for


def configmap(name, data=None, namespace="default"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data or {}}


def curl(server, path, token=None, extra=()):
    """(HTTP status, body) of a GET with curl, verifying the server against the data dir's CA."""
    args = ["curl", "-sS", "--max-time", "20", "--cacert", server.ca_path,
            "-o", "-", "-w", "\n%{http_code}", *extra]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    r = subprocess.run(args + [server.url + path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"curl failed: {r.stderr}"
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


# ---- data dir and credentials ---------------------------------------------------------------------

def test_fresh_data_dir_gets_kubeconfig_ca_and_token(vdisk):
    with open(vdisk.kubeconfig) as f:
        kubeconfig = yaml.safe_load(f)
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"] == vdisk.url  # the port picked for --listen 127.0.0.1:0
    assert vdisk.url.startswith("https://127.0.0.1:") and not vdisk.url.endswith(":0")
    assert not cluster.get("insecure-skip-tls-verify")
    with open(vdisk.ca_path, "rb") as f:
        ca = f.read()
    assert b"BEGIN CERTIFICATE" in ca
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca
    assert kubeconfig["users"][0]["user"]["token"]
    assert kubeconfig["current-context"]
    # the credentials are private to the user
    assert stat.S_IMODE(os.stat(vdisk.kubeconfig).st_mode) & 0o077 == 0
    # kubectl verifies the server and is authorized
    out = vdisk.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert "namespace/default" in out
    code, body = curl(vdisk, "/api/v1/namespaces", token=vdisk.token)
    assert code == 200
    assert {"default", "openshift-cnv"} <= {i["metadata"]["name"]
                                            for i in json.loads(body)["items"]}


def test_second_start_reuses_credentials_and_keeps_objects(vdisk):
    with open(vdisk.ca_path, "rb") as f:
        ca = f.read()
    token = vdisk.token
    vdisk.create(configmap("kept", {"a": "1"}))
    uid = vdisk.get_json("cm", "kept")["metadata"]["uid"]
    vdisk.kubectl("patch", "hco", "kubevirt-hyperconverged", "-n", "openshift-cnv",
                  "--type=merge", "-p", '{"spec":{"scratchSpaceStorageClass":"hostpath-csi"}}')
    vdisk.kubectl("label", "node", "node01", "zone=a")

    assert vdisk.restart() == 0
    with open(vdisk.ca_path, "rb") as f:
        assert f.read() == ca, "the CA changed across restarts"
    assert vdisk.token == token, "the admin token changed across restarts"
    kept = vdisk.get_json("cm", "kept")
    assert kept["metadata"]["uid"] == uid and kept["data"] == {"a": "1"}
    # the singletons are not re-created over the user's changes
    hco = vdisk.get_json("hco", "kubevirt-hyperconverged", "-n", "openshift-cnv")
    assert hco["spec"]["scratchSpaceStorageClass"] == "hostpath-csi"
    assert vdisk.get_json("node", "node01")["metadata"]["labels"]["zone"] == "a"
    assert len(vdisk.kubectl("get", "hco", "-A", "-o", "name").stdout.split()) == 1
    assert len(vdisk.kubectl("get", "cdiconfig", "-o", "name").stdout.split()) == 1


def test_requests_without_the_token_are_unauthorized(vdisk):
    code, body = curl(vdisk, "/api/v1/namespaces")
    assert code == 401, body
    status = json.loads(body)
    assert status["kind"] == "Status" and status["code"] == 401
    assert status["reason"] == "Unauthorized"
    code, _ = curl(vdisk, "/api/v1/namespaces", token="not-the-token")
    assert code == 401
    code, _ = curl(vdisk, "/apis/cdi.kubevirt.io/v1beta1/datavolumes", token="x" * 64)
    assert code == 401
    r = vdisk.kubectl("--token=not-the-token", "get", "namespaces", check=False)
    assert r.returncode != 0
    assert "error: You must be logged in to the server" in r.stderr, r.stderr
    # nothing was written by the refused requests
    code, _ = curl(vdisk, "/api/v1/namespaces/default/configmaps", token=vdisk.token)
    assert code == 200


def test_api_bodies_are_bounded(vdisk, tmp_path):
    """An API body must declare its length, within 3 MiB; nothing is read of a refused one, and
    the server stays as it was (its memory included)."""
    big = tmp_path / "big.json"
    big.write_bytes(b"a" * (8 << 20))
    post = ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", f"@{big}"]
    code, body = curl(vdisk, "/api/v1/namespaces", token=vdisk.token, extra=post)
    assert code == 413, body
    assert json.loads(body)["message"] == "Request entity too large"
    chunked = post + ["-H", "Transfer-Encoding: chunked"]
    code, body = curl(vdisk, "/api/v1/namespaces", token=vdisk.token, extra=chunked)
    assert code == 411, body
    assert "Content-Length" in json.loads(body)["message"]
    # A body of a declared, reasonable length still works.
    ok = ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
          json.dumps(configmap("bounded"))]
    code, body = curl(vdisk, "/api/v1/namespaces/default/configmaps", token=vdisk.token, extra=ok)
    assert code == 201, body


def test_server_certificate_is_verified(vdisk):
    # without the CA the server is not trusted
    r = subprocess.run(["curl", "-sS", "--max-time", "20", vdisk.url + "/version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    # with it, "localhost" is a valid name too
    port = vdisk.url.rsplit(":", 1)[1]
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", vdisk.ca_path,
                        "-H", f"Authorization: Bearer {vdisk.token}",
                        f"https://localhost:{port}/version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "gitVersion" in r.stdout


# ---- durability -----------------------------------------------------------------------------------

def test_acknowledged_writes_survive_kill9(vdisk):
    items = [configmap(f"d-{i}", {"i": str(i)}) for i in range(40)]
    vdisk.kubectl("create", "-f", "-", input=yaml.safe_dump_all(items))
    vdisk.kubectl("delete", "cm", "d-0", "d-1", "--wait=false")
    vdisk.kubectl("patch", "cm", "d-2", "--type=merge", "-p", '{"data":{"i":"patched"}}')
    vdisk.create_namespace("durable")
    vdisk.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
        "metadata": {"name": "durable-dv", "namespace": "durable"},
        "spec": {"source": {"blank": {}},
                 "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}))
    vdisk.kill9()

    vdisk.start()
    cms = {i["metadata"]["name"]: i["data"]["i"] for i in vdisk.get_json("cm")["items"]}
    expected = {f"d-{i}": str(i) for i in range(3, 40)}
    expected["d-2"] = "patched"
    assert cms == expected
    assert vdisk.exists("dv", "durable-dv", "-n", "durable")


def test_writes_acknowledged_during_a_crash_survive(vdisk):
    """Writers keep creating objects while the server is killed; every create kubectl reported
    as done is there after the restart."""
    acknowledged, lock, stop = [], threading.Lock(), threading.Event()

    def writer(worker):
        for i in range(1000):
            if stop.is_set():
                return
            name = f"crash-{worker}-{i}"
            r = vdisk.create(configmap(name, {"k": name}), check=False)
            if r.returncode != 0:
                return
            with lock:
                acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acknowledged) >= 30, timeout=60, what="30 acknowledged creates")
        vdisk.kill9()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    with lock:
        acked = list(acknowledged)

    vdisk.start()
    present = {i["metadata"]["name"]: i["data"]["k"] for i in vdisk.get_json("cm")["items"]}
    missing = [n for n in acked if n not in present]
    assert not missing, f"{len(missing)} acknowledged creates lost: {missing[:10]}"
    assert all(present[n] == n for n in acked)


# ---- consistency --------------------------------------------------------------------------------

def test_concurrent_read_modify_write_loses_no_update(vdisk):
    workers, increments = 3, 5
    vdisk.create({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "counter", "namespace": "default",
                               "annotations": {"count": "0"}}})
    conflicts, errors = [], []

    def worker():
        for _ in range(increments):
            for _attempt in range(200):
                obj = vdisk.get_json("cm", "counter")
                obj["metadata"]["annotations"]["count"] = str(
                    int(obj["metadata"]["annotations"]["count"]) + 1)
                r = vdisk.kubectl("replace", "-f", "-", input=json.dumps(obj), check=False)
                if r.returncode == 0:
                    break
                if "the object has been modified" in r.stderr:
                    conflicts.append(1)
                    continue
                errors.append(r.stderr)
                return
            else:
                errors.append("gave up after 200 conflicts")
                return

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    final = vdisk.get_json("cm", "counter")["metadata"]["annotations"]["count"]
    assert int(final) == workers * increments, f"{final} after {len(conflicts)} conflicts"


def test_concurrent_patches_lose_no_update(vdisk):
    workers, patches = 3, 5
    vdisk.create(configmap("patched"))
    errors = []

    def worker(w):
        for i in range(patches):
            r = vdisk.kubectl("patch", "cm", "patched", "--type=json", "-p", json.dumps(
                [{"op": "add", "path": f"/data/k-{w}-{i}", "value": "x"}]), check=False)
            if r.returncode != 0:
                errors.append(r.stderr)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    data = vdisk.get_json("cm", "patched")["data"]
    assert len(data) == workers * patches, sorted(data)


# ---- watch ------------------------------------------------------------------------------------------

def watch_events(server, path, check=True):
    r = server.kubectl("get", "--raw", path, check=check, timeout=60)
    events = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return r, events


def test_watch_resumes_from_a_resource_version(vdisk):
    vdisk.create(configmap("w1", {"v": "1"}))
    rv = vdisk.get_json("cm", "w1")["metadata"]["resourceVersion"]
    vdisk.kubectl("patch", "cm", "w1", "--type=merge", "-p", '{"data":{"v":"2"}}')
    vdisk.create(configmap("w2"))
    vdisk.create(configmap("elsewhere", namespace="openshift-cnv"))
    vdisk.kubectl("delete", "cm", "w1")

    _, events = watch_events(
        vdisk, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
               "&timeoutSeconds=2")
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [("MODIFIED", "w1"), ("ADDED", "w2"), ("DELETED", "w1")], seen
    assert events[0]["object"]["data"] == {"v": "2"}
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)

    # resuming from the last event's version gives nothing more
    _, more = watch_events(
        vdisk, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rvs[-1]}"
               "&timeoutSeconds=1")
    assert more == []

    # a watch with a selector, resumed, sees only its objects
    _, selected = watch_events(
        vdisk, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
               "&fieldSelector=metadata.name%3Dw2&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in selected] == [("ADDED", "w2")]


def test_watch_from_a_compacted_resource_version_is_expired(vdisk):
    vdisk.create(configmap("old"))
    rv = vdisk.get_json("cm", "old")["metadata"]["resourceVersion"]
    for i in range(3):
        vdisk.kubectl("patch", "cm", "old", "--type=merge", "-p", json.dumps({"data": {"i": str(i)}}))
    # A restart starts a new watch history: like a compacted etcd, versions before it are gone.
    assert vdisk.restart() == 0
    r, events = watch_events(
        vdisk, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
               "&timeoutSeconds=2", check=False)
    if r.returncode == 0:
        assert events and events[0]["type"] == "ERROR", events
        status = events[0]["object"]
        assert status["code"] == 410 and status["reason"] in ("Expired", "Gone"), status
    else:
        assert "Expired" in r.stderr or "Gone" in r.stderr, r.stderr
    # a watch from the current version works
    current = vdisk.get_json("cm", "old")["metadata"]["resourceVersion"]
    r, events = watch_events(
        vdisk, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={current}"
               "&timeoutSeconds=1")
    assert events == []


def test_watch_without_resource_version_starts_with_the_current_objects(vdisk):
    vdisk.create(configmap("present"))
    _, events = watch_events(vdisk, "/api/v1/namespaces/default/configmaps?watch=1"
                                    "&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == \
        [("ADDED", "present")]


# ---- process ------------------------------------------------------------------------------------

def test_sigterm_stops_cleanly(vdisk):
    vdisk.create(configmap("before-stop"))
    assert vdisk.stop(signal.SIGTERM) == 0


def test_sigint_stops_cleanly(vdisk):
    assert vdisk.stop(signal.SIGINT) == 0


def test_sigterm_with_open_watches(vdisk):
    vdisk.create(configmap("listed"))
    watchers = [vdisk.popen("get", "cm", "-w"), vdisk.popen("get", "dv", "-A", "-w")]
    raw = subprocess.Popen(
        ["curl", "-sSN", "--cacert", vdisk.ca_path, "-H", f"Authorization: Bearer {vdisk.token}",
         vdisk.url + "/api/v1/namespaces/default/configmaps?watch=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchers.append(raw)
    try:
        LineReader(watchers[0].stdout).wait_for_line(lambda l: l.startswith("listed "),
                                                     what="kubectl get -w to list")
        LineReader(raw.stdout).wait_for_line(lambda l: '"listed"' in l,
                                             what="the raw watch to be open")
        assert vdisk.stop(signal.SIGTERM) == 0
        # the watchers see the stream end
        assert raw.wait(timeout=20) is not None
    finally:
        for w in watchers:
            stop_process(w)


def test_help_and_version():
    r = subprocess.run([VDISK_BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # (the virtctl-like verbs, image-upload, addvolume, ..., join the list as later work adds
    # them)
    for command in ("serve", "version"):
        assert command in r.stdout, f"{command} missing from vdisk --help:\n{r.stdout}"
    r = subprocess.run([VDISK_BIN, "version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr


def test_serve_rejects_a_bad_listen_address(tmp_path):
    r = subprocess.run([VDISK_BIN, "serve", "--data-dir", str(tmp_path / "d"), "--listen",
                        "127.0.0.1:99999"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "--listen" in r.stderr + r.stdout
