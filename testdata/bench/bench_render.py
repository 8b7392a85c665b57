#!/usr/bin/env python3
"""Times `rudder template` and `helm template` on the twin benchmark charts.

usage: bench_render.py RUDDER HELM "N1 N2 ..."
For each N: generates the charts, checks that rudder renders the tera chart to the same
documents as helm renders the Go-template twin, and the Go-template twin itself byte for
byte as helm does; then runs each render RUNS times and reports the median wall time and
the peak RSS: rudder on the tera chart, rudder on the Go-template twin, helm on the twin.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import gen_chart  # noqa: E402

RUNS = 7


def measure(cmd):
    times, rss = [], 0
    for _ in range(RUNS):
        # /usr/bin/time gives the child's own peak RSS, not the harness's.
        timed = ["/usr/bin/time", "-f", "%M", *cmd]
        start = time.perf_counter()
        proc = subprocess.run(timed, capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{cmd[0]} failed: {proc.stderr.decode()}")
        rss = max(rss, int(proc.stderr.decode().strip().splitlines()[-1]))
    return statistics.median(times), rss


def documents(text):
    return [d.strip() for d in text.split("\n---\n") if d.strip()]


def main():
    rudder, helm, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3].split()]
    print(f"{'engine':>6} {'templates':>9} {'lines':>7} | {'rudder ms':>9} {'helm ms':>8} "
          f"{'speedup':>7} | {'rudder MiB':>10} {'helm MiB':>8} {'mem ratio':>9}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as root:
            gen_chart.generate(n, root)
            tera_cmd = [rudder, "template", "bench", os.path.join(root, "tera")]
            go_cmd = [helm, "template", "bench", os.path.join(root, "gotpl")]
            ours = subprocess.run(tera_cmd, capture_output=True, text=True, check=True).stdout
            theirs = subprocess.run(go_cmd, capture_output=True, text=True, check=True).stdout
            if documents(ours) != documents(theirs):
                sys.exit(f"N={n}: rudder and helm render different documents")
            rudder_go_cmd = [rudder, "template", "bench", os.path.join(root, "gotpl")]
            ours_go = subprocess.run(rudder_go_cmd, capture_output=True, text=True, check=True).stdout
            if ours_go != theirs:
                sys.exit(f"N={n}: rudder renders the Go-template twin differently from helm")
            h_time, h_rss = measure(go_cmd)
            for engine, cmd in (("tera", tera_cmd), ("go", rudder_go_cmd)):
                r_time, r_rss = measure(cmd)
                print(f"{engine:>6} {n:>9} {ours.count(chr(10)):>7} | {r_time*1000:>9.1f} "
                      f"{h_time*1000:>8.1f} {h_time/r_time:>6.1f}x | {r_rss/1024:>10.1f} "
                      f"{h_rss/1024:>8.1f} {r_rss/h_rss:>9.2f}")


if __name__ == "__main__":
    main()
