#!/usr/bin/env python3
"""Release benchmark: rudder against helm 4.1.4 on the same kubesim, side by side.

1. install of a 500-object release (twin charts: tera for rudder, Go templates for helm,
   rendering the same ConfigMaps and Secrets), each tool in its own namespace;
2. a no-op upgrade of it (same chart, same values);
3. `list -A` over 1,000 releases with 10 revisions each (helm-format release Secrets
   written straight to the API server, read by both tools).

usage: bench_release.py RUDDER KUBESIM HELM [OBJECTS] [RELEASES] [REVISIONS]
"""
import base64
import gzip
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import kubesim, timed

RUDDER, KUBESIM, HELM = sys.argv[1:4]
OBJECTS = int(sys.argv[4]) if len(sys.argv) > 4 else 500
RELEASES = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
REVISIONS = int(sys.argv[6]) if len(sys.argv) > 6 else 10


def write_charts(root):
    """Twin charts with OBJECTS documents: 80% ConfigMaps, 20% Secrets."""
    for flavour, name_expr in (("tera", "{{ Release.Name }}"), ("gotpl", "{{ .Release.Name }}")):
        chart = os.path.join(root, flavour)
        os.makedirs(os.path.join(chart, "templates"))
        with open(os.path.join(chart, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: bench\nversion: 1.0.0\nappVersion: \"1.0\"\n")
            if flavour == "tera":
                # Only the tera twin is marked; the helm twin stays a Go-template chart.
                f.write("annotations:\n  rudder.io/engine: tera\n")
        with open(os.path.join(chart, "values.yaml"), "w") as f:
            f.write("greeting: hello\n")
        for i in range(OBJECTS):
            if i % 5 == 4:
                doc = (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name_expr}-s{i}\n"
                       f"type: Opaque\nstringData:\n  password: \"p{i}\"\n")
            else:
                doc = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name_expr}-c{i}\n"
                       f"data:\n  index: \"{i}\"\n  text: \"object number {i} of the bench release\"\n")
            with open(os.path.join(chart, "templates", f"o{i:04}.yaml"), "w") as f:
                f.write(doc)
    return os.path.join(root, "tera"), os.path.join(root, "gotpl")


def load_kubeconfig(path):
    # kubesim writes JSON-compatible YAML; parse the few fields needed without PyYAML.
    text = open(path).read()
    server = token = ca = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("server:"):
            server = line.split(":", 1)[1].strip().strip("'\"")
        elif line.startswith("certificate-authority-data:"):
            ca = line.split(":", 1)[1].strip().strip("'\"")
        elif line.startswith("token:") and token is None:
            token = line.split(":", 1)[1].strip().strip("'\"")
    return server, token, base64.b64decode(ca).decode()


def populate(kubeconfig):
    """RELEASES releases × REVISIONS revisions as helm release Secrets in 10 namespaces."""
    server, token, ca = load_kubeconfig(kubeconfig)
    ctx = ssl.create_default_context(cadata=ca)
    ctx.check_hostname = False

    def post(path, body):
        req = urllib.request.Request(
            server + path, data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, context=ctx).read()
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise

    namespaces = [f"list-{n}" for n in range(10)]
    for ns in namespaces:
        post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    manifest = "".join(
        f"---\n# Source: bench/templates/o{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-{i}\ndata:\n  a: \"{i}\"\n"
        for i in range(20))
    for r in range(RELEASES):
        ns = namespaces[r % len(namespaces)]
        name = f"rel-{r:04}"
        for v in range(1, REVISIONS + 1):
            status = "deployed" if v == REVISIONS else "superseded"
            record = {
                "name": name, "namespace": ns, "version": v,
                "info": {"first_deployed": "2026-01-01T00:00:00Z", "last_deployed": "2026-01-01T00:00:00Z",
                         "description": "Upgrade complete" if v > 1 else "Install complete", "status": status},
                "chart": {"metadata": {"name": "bench", "version": "1.0.0", "apiVersion": "v2", "appVersion": "1.0"},
                          "lock": None, "templates": [], "values": {"greeting": "hello"}, "schema": None, "files": []},
                "config": {"greeting": f"hi-{v}"},
                "manifest": manifest,
            }
            data = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
            post(f"/api/v1/namespaces/{ns}/secrets", {
                "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                "metadata": {"name": f"sh.helm.release.v1.{name}.v{v}",
                             "labels": {"name": name, "owner": "helm", "status": status, "version": str(v)}},
                "data": {"release": base64.b64encode(data.encode()).decode()},
            })


def best_of(n, cmd, env):
    return min(timed(cmd, env)[0] for _ in range(n))


def main():
    work = tempfile.mkdtemp(prefix="bench-release-")
    try:
        tera, gotpl = write_charts(os.path.join(work, "charts"))
        with kubesim(KUBESIM, work) as (kubeconfig, env):
            rows = []
            r_inst, _ = timed([RUDDER, "install", "bench", tera, "-n", "bench-rudder", "--create-namespace"], env)
            h_inst, _ = timed([HELM, "install", "bench", gotpl, "-n", "bench-helm", "--create-namespace"], env)
            rows.append((f"install, {OBJECTS} objects", r_inst, h_inst, 3))
            r_up, _ = timed([RUDDER, "upgrade", "bench", tera, "-n", "bench-rudder"], env)
            h_up, _ = timed([HELM, "upgrade", "bench", gotpl, "-n", "bench-helm"], env)
            rows.append((f"no-op upgrade, {OBJECTS} objects", r_up, h_up, 5))
            start = time.perf_counter()
            populate(kubeconfig)
            print(f"(wrote {RELEASES}×{REVISIONS} release Secrets in {time.perf_counter() - start:.1f}s)")
            r_list = best_of(3, [RUDDER, "list", "-A"], env)
            h_list = best_of(3, [HELM, "list", "-A", "--max", "0"], env)
            _, r_out = timed([RUDDER, "list", "-A", "-q"], env)
            _, h_out = timed([HELM, "list", "-A", "-q", "--max", "0"], env)
            if sorted(r_out.split()) != sorted(h_out.split()):
                sys.exit("rudder and helm list different releases")
            rows.append((f"list -A, {RELEASES} releases × {REVISIONS} revisions", r_list, h_list, 10))
        print(f"{'benchmark':<46} {'rudder':>9} {'helm':>9} {'ratio':>7} {'target':>7}")
        for name, r, h, target in rows:
            ratio = h / r if r > 0 else float("inf")
            mark = "ok" if ratio >= target else "BELOW"
            print(f"{name:<46} {r:>8.3f}s {h:>8.3f}s {ratio:>6.1f}× {target:>5}×  {mark}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
