#!/usr/bin/env python3
"""`rudder apply` benchmark: RELEASES independent releases (a chart of OBJECTS ConfigMaps,
each release in its own namespace) deployed by one `rudder apply -f releases.yaml`, against
the same releases deployed by `rudder upgrade --install` run one by one (what a CI step
without a releases file does). Prints both timings and the ratio.

usage: bench_apply.py RUDDER KUBESIM [RELEASES] [OBJECTS]
"""
import os
import shutil
import sys
import tempfile

from harness import kubesim, timed

RUDDER, KUBESIM = sys.argv[1:3]
RELEASES = int(sys.argv[3]) if len(sys.argv) > 3 else 50
OBJECTS = int(sys.argv[4]) if len(sys.argv) > 4 else 20


def write_chart(root):
    chart = os.path.join(root, "chart")
    os.makedirs(os.path.join(chart, "templates"))
    with open(os.path.join(chart, "Chart.yaml"), "w") as f:
        f.write("apiVersion: v2\nname: bench\nversion: 1.0.0\nannotations:\n  rudder.io/engine: tera\n")
    for i in range(OBJECTS):
        with open(os.path.join(chart, "templates", f"o{i:03}.yaml"), "w") as f:
            f.write(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ Release.Name }}}}-c{i}\n"
                    f"data:\n  index: \"{i}\"\n")
    return chart


def main():
    work = tempfile.mkdtemp(prefix="bench-apply-")
    try:
        chart = write_chart(work)
        releases = os.path.join(work, "releases.yaml")
        with open(releases, "w") as f:
            f.write("releases:\n")
            for r in range(RELEASES):
                f.write(f"  - {{name: app{r:02}, namespace: apply-{r:02}, chart: {chart}}}\n")
        with kubesim(KUBESIM, work) as (_, env):
            applied, _ = timed([RUDDER, "apply", "-f", releases, "--no-color"], env)
            one_by_one = 0.0
            for r in range(RELEASES):
                elapsed, _ = timed([RUDDER, "upgrade", "--install", f"app{r:02}", chart,
                                    "-n", f"seq-{r:02}", "--create-namespace"], env)
                one_by_one += elapsed
        ratio = one_by_one / applied if applied > 0 else float("inf")
        print(f"{'benchmark':<58} {'seconds':>8}")
        print(f"{f'rudder apply, {RELEASES} releases × {OBJECTS} objects':<58} {applied:>7.3f}s")
        print(f"{f'rudder upgrade --install one by one, {RELEASES} releases':<58} {one_by_one:>7.3f}s")
        print(f"ratio (one by one / apply): {ratio:.1f}×")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
