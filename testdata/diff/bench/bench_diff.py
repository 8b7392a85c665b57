#!/usr/bin/env python3
"""Diff benchmark: `rudder diff upgrade` of an OBJECTS-object release against kubesim.

A generated chart (70% ConfigMaps, 20% Secrets, 10% Deployments) is installed with
`rudder install`; then, best of 3 runs each:
1. `rudder diff upgrade` with a value every object uses changed (every object differs);
2. `rudder diff upgrade` with nothing changed (every object still dry-run and compared);
3. `rudder diff release` (drift check of every object);
and, for comparison, helm-diff's approach: `rudder get manifest` + `rudder template` and a
text diff of the two manifests (no dry-runs, so no defaults, no other managers' fields).
The issue's target is ≤ 2 s for (1).

usage: bench_diff.py RUDDER KUBESIM [OBJECTS]
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../release/bench"))
from harness import kubesim  # noqa: E402  (the release benchmarks' kubesim runner)

RUDDER, KUBESIM = sys.argv[1:3]
OBJECTS = int(sys.argv[3]) if len(sys.argv) > 3 else 500
TARGET = 2.0


def write_chart(root):
    chart = os.path.join(root, "bench")
    os.makedirs(os.path.join(chart, "templates"))
    with open(os.path.join(chart, "Chart.yaml"), "w") as f:
        f.write("apiVersion: v2\nname: bench\nversion: 1.0.0\nappVersion: \"1.0\"\n"
                "annotations:\n  rudder.io/engine: tera\n")
    with open(os.path.join(chart, "values.yaml"), "w") as f:
        f.write("greeting: hello\ntag: \"1.25\"\n")
    for i in range(OBJECTS):
        if i % 10 == 9:
            doc = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                   f"  name: {{{{ Release.Name }}}}-d{i}\nspec:\n  replicas: 1\n"
                   f"  selector:\n    matchLabels:\n      app: d{i}\n"
                   f"  template:\n    metadata:\n      labels:\n        app: d{i}\n"
                   "    spec:\n      containers:\n        - name: app\n"
                   "          image: \"nginx:{{ Values.tag }}\"\n"
                   "          env:\n            - name: GREETING\n"
                   "              value: {{ Values.greeting | quote }}\n")
        elif i % 5 == 4:
            doc = ("apiVersion: v1\nkind: Secret\nmetadata:\n"
                   f"  name: {{{{ Release.Name }}}}-s{i}\ntype: Opaque\nstringData:\n"
                   f"  password: \"p{i}-{{{{ Values.greeting }}}}\"\n")
        else:
            doc = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                   f"  name: {{{{ Release.Name }}}}-c{i}\ndata:\n  index: \"{i}\"\n"
                   "  greeting: {{ Values.greeting | quote }}\n")
        with open(os.path.join(chart, "templates", f"o{i:04}.yaml"), "w") as f:
            f.write(doc)
    return chart


def timed(cmd, env, ok=(0,)):
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed, out.stdout


def best_of(n, cmd, env, ok=(0,)):
    runs = [timed(cmd, env, ok) for _ in range(n)]
    return min(t for t, _ in runs), runs[0][1]


def main():
    work = tempfile.mkdtemp(prefix="bench-diff-")
    try:
        chart = write_chart(work)
        with kubesim(KUBESIM, work) as (_, env):
            ns = ["-n", "bench"]
            timed([RUDDER, "install", "bench", chart, "--create-namespace", *ns], env)
            changed, out = best_of(3, [RUDDER, "diff", "upgrade", "bench", chart, "--set", "greeting=hi",
                                       "--detailed-exitcode", *ns], env, ok=(2,))
            summary = out.strip().splitlines()[-1]
            if summary != f"Plan: 0 to add, {OBJECTS} to change, 0 to remove.":
                sys.exit(f"unexpected plan: {summary}")
            same, out = best_of(3, [RUDDER, "diff", "upgrade", "bench", chart, "--detailed-exitcode", *ns], env)
            drift, _ = best_of(3, [RUDDER, "diff", "release", "bench", "--detailed-exitcode", *ns], env)

            def text_diff():
                _, old = timed([RUDDER, "get", "manifest", "bench", *ns], env)
                _, new = timed([RUDDER, "template", "bench", chart, "--set", "greeting=hi", *ns], env)
                return list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3))

            text = min(timed_call(text_diff) for _ in range(3))
        print(f"{'benchmark (' + str(OBJECTS) + ' objects, best of 3)':<58} {'time':>8}")
        mark = "ok" if changed <= TARGET else "OVER TARGET"
        print(f"{'rudder diff upgrade, every object changed':<58} {changed:>7.3f}s  target ≤ {TARGET:.0f} s: {mark}")
        print(f"{'rudder diff upgrade, nothing changed':<58} {same:>7.3f}s")
        print(f"{'rudder diff release (drift)':<58} {drift:>7.3f}s")
        print(f"{'text diff of manifests (helm-diff approach, no dry-runs)':<58} {text:>7.3f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed_call(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
