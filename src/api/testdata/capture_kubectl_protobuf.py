#!/usr/bin/env python3
"""Captures the protobuf request bodies kubectl sends, for api/protobuf_test.cc.

Runs a stand-in API server (discovery for core/v1 only) on 127.0.0.1, runs each kubectl command
against it, and records the POSTed body. The same command with --dry-run=client -o json gives
the JSON that body must decode to. Writes kubectl_protobuf_captures.inc next to this script.

Regenerate (needs kubectl on PATH; the captures were made with v1.32):
    python3 src/api/testdata/capture_kubectl_protobuf.py
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True),
             ("secrets", "Secret", True)]

# (fixture name, kubectl arguments). {dir} is a directory holding the files below.
COMMANDS = [
    ("create_namespace", ["create", "namespace", "foo"]),
    ("create_namespace_save_config", ["create", "namespace", "saved", "--save-config"]),
    ("create_configmap_literal", ["create", "configmap", "c", "--from-literal=a=1", "-n", "default"]),
    ("create_configmap_files", ["create", "configmap", "bin", "--from-file=blob={dir}/blob.bin",
                                "--from-file={dir}/text.txt", "--from-literal=x=y", "-n", "ns1",
                                "--save-config"]),
    ("create_configmap_append_hash", ["create", "configmap", "hashed", "--from-literal=a=1",
                                      "--append-hash", "-n", "default"]),
    ("create_secret_generic", ["create", "secret", "generic", "s", "--from-literal=k=v",
                               "--from-literal=empty=", "--type=Opaque", "-n", "default"]),
    ("create_secret_binary_file", ["create", "secret", "generic", "s2",
                                   "--from-file=blob={dir}/blob.bin", "-n", "default",
                                   "--save-config"]),
    ("create_secret_docker_registry", ["create", "secret", "docker-registry", "reg",
                                       "--docker-server=r.example", "--docker-username=u",
                                       "--docker-password=p", "-n", "default"]),
]

captured = []


class StandIn(BaseHTTPRequestHandler):
    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return self.send_json(200, {"kind": "APIResourceList", "groupVersion": "v1",
                                        "resources": [{"name": n, "singularName": k.lower(),
                                                       "namespaced": ns, "kind": k,
                                                       "verbs": ["create", "get", "list"]}
                                                      for n, k, ns in RESOURCES]})
        self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "code": 404, "reason": "NotFound"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        captured.append((self.headers.get("Content-Type"), body))
        kind = next((k for r, k, _ in RESOURCES if "/" + r in self.path), "Status")
        self.send_json(201, {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}})

    def log_message(self, *args):
        pass


def kubectl(server, args):
    env = dict(os.environ, KUBECONFIG=os.devnull)
    return subprocess.run(["kubectl", "--server=" + server] + args, env=env, check=True,
                          capture_output=True, text=True).stdout


def c_string_lines(hex_text, width=96):
    return "\n".join('     "%s"' % hex_text[i:i + width] for i in range(0, len(hex_text), width))


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = "http://127.0.0.1:%d" % httpd.server_address[1]
    version = json.loads(kubectl(server, ["version", "--client", "-o", "json"]))
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "blob.bin"), "wb") as f:
            f.write(b"\x00\x01\xff\xfebin")
        with open(os.path.join(tmp, "text.txt"), "w") as f:
            f.write("hello\n")
        for name, args in COMMANDS:
            args = [a.replace("{dir}", tmp) for a in args]
            before = len(captured)
            kubectl(server, args)
            if len(captured) != before + 1:
                sys.exit("%s: expected one request, got %d" % (name, len(captured) - before))
            content_type, body = captured[-1]
            if content_type != "application/vnd.kubernetes.protobuf":
                sys.exit("%s: kubectl sent %s" % (name, content_type))
            expected = kubectl(server, args + ["--dry-run=client", "-o", "json"]).rstrip("\n")
            shown = " ".join(a.replace(tmp, "$DIR") for a in args)
            entries.append('{"%s",\n "kubectl %s",\n %s,\n R"json(%s)json"},' % (
                name, shown.replace('"', '\\"'), c_string_lines(body.hex()).lstrip(), expected))
    httpd.shutdown()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kubectl_protobuf_captures.inc")
    with open(out, "w") as f:
        f.write("// Generated by capture_kubectl_protobuf.py with kubectl %s; do not edit.\n"
                "// {name, command, protobuf body as hex, the --dry-run=client -o json output}\n"
                % version["clientVersion"]["gitVersion"])
        f.write("\n".join(entries) + "\n")
    print("wrote %s (%d captures)" % (out, len(entries)))


if __name__ == "__main__":
    main()
