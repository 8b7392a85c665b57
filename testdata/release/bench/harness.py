"""What the release benchmarks share: a kubesim on a free port, the environment the tools
run with (kubeconfig, isolated helm directories), and timing one command."""
import contextlib
import os
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timed(cmd, env):
    """Runs cmd; its wall time and stdout (exits with its output when it fails)."""
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return elapsed, out.stdout


@contextlib.contextmanager
def kubesim(kubesim_bin, work):
    """Starts kubesim writing its kubeconfig under work; yields (kubeconfig, env)."""
    kubeconfig = os.path.join(work, "kubeconfig")
    sim = subprocess.Popen([kubesim_bin, "--port", str(free_port()), "--write-kubeconfig", kubeconfig],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(kubeconfig):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        env = dict(os.environ, KUBECONFIG=kubeconfig,
                   HELM_CONFIG_HOME=os.path.join(work, "helm-config"),
                   HELM_CACHE_HOME=os.path.join(work, "helm-cache"),
                   HELM_DATA_HOME=os.path.join(work, "helm-data"))
        env.pop("RUDDER_NAMESPACE", None)
        yield kubeconfig, env
    finally:
        sim.terminate()
        sim.wait()
