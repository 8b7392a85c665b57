#!/usr/bin/env python3
"""Times `rudder template` and `helm template` on the twin benchmark charts.

usage: bench_render.py RUDDER HELM "N1 N2 ..."
For each N: generates the charts, checks that rudder renders the tera chart to the same
documents as helm renders the Go-template twin, and the Go-template twin itself byte for
byte as helm does; then runs the three renders (helm on the twin, rudder on the tera chart,
rudder on the twin) in turn, RUNS rounds, so a machine that slows down or speeds up meanwhile
weighs on all of them alike, and reports each one's median wall time and peak RSS, and the
median of the rounds' ratios.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import gen_chart  # noqa: E402

RUNS = 11


def run_once(cmd):
    """Wall time and peak RSS (KiB) of one run of `cmd`."""
    # /usr/bin/time gives the child's own peak RSS, not the harness's.
    timed = ["/usr/bin/time", "-f", "%M", *cmd]
    start = time.perf_counter()
    proc = subprocess.run(timed, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.decode()}")
    return elapsed, int(proc.stderr.decode().strip().splitlines()[-1])


def measure_paired(cmds):
    """Runs the commands in turn, RUNS rounds; per command: its times and peak RSS."""
    times = [[] for _ in cmds]
    rss = [0 for _ in cmds]
    for _ in range(RUNS):
        for i, cmd in enumerate(cmds):
            elapsed, peak = run_once(cmd)
            times[i].append(elapsed)
            rss[i] = max(rss[i], peak)
    return times, rss


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
            times, rss = measure_paired([go_cmd, tera_cmd, rudder_go_cmd])
            h_times, h_rss = times[0], rss[0]
            h_time = statistics.median(h_times)
            for engine, r_times, r_rss in (("tera", times[1], rss[1]), ("go", times[2], rss[2])):
                r_time = statistics.median(r_times)
                ratio = statistics.median(h / r for h, r in zip(h_times, r_times))
                print(f"{engine:>6} {n:>9} {ours.count(chr(10)):>7} | {r_time*1000:>9.1f} "
                      f"{h_time*1000:>8.1f} {ratio:>6.1f}x | {r_rss/1024:>10.1f} "
                      f"{h_rss/1024:>8.1f} {r_rss/h_rss:>9.2f}")

if __name__ == "__main__":
    main()
