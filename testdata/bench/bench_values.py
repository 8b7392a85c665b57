#!/usr/bin/env python3
"""Times `rudder template` and `helm template` of one small Go-template chart given a large
values file (-f): the cost of reading, merging and handing values to templates.

usage: bench_values.py RUDDER HELM [MEGABYTES]   (default 6)
The values file holds a list of services (nested maps, lists, strings, numbers and
booleans, as real values files do) until it reaches the size. The chart prints a few
values and `toYaml` of one entry, so the output is small and both tools must agree on it.
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 7


def values_text(megabytes):
    rnd = random.Random(7)
    lines = ["global:\n  region: eu-west-1\n  replicas: 3\nservices:\n"]
    size, i = len(lines[0]), 0
    while size < megabytes * 1_000_000:
        entry = (
            f"  - name: svc-{i:06}\n"
            f"    image: registry.example.com/team-{i % 40}/svc-{i:06}:{rnd.randint(1, 999)}.{rnd.randint(0, 99)}\n"
            f"    replicas: {rnd.randint(1, 9)}\n"
            f"    enabled: {'true' if i % 3 else 'false'}\n"
            f"    resources: {{limits: {{cpu: {rnd.randint(100, 4000)}m, memory: {rnd.randint(64, 8192)}Mi}}}}\n"
            f"    env:\n"
            f"      - {{name: LOG_LEVEL, value: {rnd.choice(['debug', 'info', 'warn'])}}}\n"
            f"      - {{name: TIMEOUT, value: \"{rnd.randint(1, 120)}s\"}}\n"
            f"    labels: {{tier: {rnd.choice(['web', 'worker', 'batch'])}, owner: team-{i % 40}}}\n"
        )
        lines.append(entry)
        size += len(entry)
        i += 1
    return "".join(lines), i


def write_chart(root, megabytes):
    chart = os.path.join(root, "chart")
    os.makedirs(os.path.join(chart, "templates"))
    with open(os.path.join(chart, "Chart.yaml"), "w") as f:
        f.write("apiVersion: v2\nname: values-bench\nversion: 1.0.0\n")
    with open(os.path.join(chart, "templates", "summary.yaml"), "w") as f:
        f.write(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-summary\ndata:\n"
            "  services: {{ len .Values.services | quote }}\n"
            "  region: {{ .Values.global.region | quote }}\n"
            "  first: |\n{{ index .Values.services 0 | toYaml | indent 4 }}\n"
        )
    text, count = values_text(megabytes)
    values = os.path.join(root, "big-values.yaml")
    with open(values, "w") as f:
        f.write(text)
    return chart, values, count, len(text)


def measure(cmd):
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{cmd[0]} failed: {proc.stderr.decode()}")
    return statistics.median(times)


def main():
    rudder, helm = sys.argv[1:3]
    megabytes = float(sys.argv[3]) if len(sys.argv) > 3 else 6
    with tempfile.TemporaryDirectory() as root:
        chart, values, count, size = write_chart(root, megabytes)
        ours = [rudder, "template", "bench", chart, "-f", values]
        theirs = [helm, "template", "bench", chart, "-f", values]
        a = subprocess.run(ours, capture_output=True, text=True, check=True).stdout
        b = subprocess.run(theirs, capture_output=True, text=True, check=True).stdout
        if a != b:
            sys.exit("rudder and helm render the chart differently")
        r, h = measure(ours), measure(theirs)
        print(f"values file: {size / 1e6:.1f} MB, {count} services (median of {RUNS})")
        print(f"rudder template {r * 1000:8.1f} ms")
        print(f"helm template   {h * 1000:8.1f} ms")
        print(f"speedup {h / r:.1f}x (target 6x)")


if __name__ == "__main__":
    main()
