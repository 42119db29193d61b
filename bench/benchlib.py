"""Helpers the bench/*.py scripts share: the machine's description, a free
port, a tool's version line, stopping a server's process group, one wrk run
through the WRK_RESULT line that api_wrk.lua and store_wrk.lua print, and a
nearest-rank percentile.

Import it from a script in bench/ with bench/ on sys.path (a script run as
`python3 bench/x.py` has it there already)."""
import os
import platform
import re
import signal
import socket
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

_WRK_RESULT = re.compile(r"WRK_RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) "
                         r"p99_us=(\d+) errors=(\d+) status=(\d+)")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc, timeout):
    """Stops a server started with start_new_session=True: SIGTERM to its
    process group, then SIGKILL when it has not exited within timeout s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tool_version(argv):
    """The first line a tool prints for argv (stdout, else stderr), or "?"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def wrk(url, conns, seconds, headers=None, script="api_wrk.lua", script_args=None,
        name=None, indent="  "):
    """One wrk run (one thread, conns connections, seconds long) against url
    with the bench/ Lua script that prints WRK_RESULT: dict(rps, p50, p99 in
    ms, errors = socket errors + non-2xx answers), or None when wrk failed
    (said on stdout, naming `name` or the URL)."""
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s",
            "-s", os.path.join(HERE, script)]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    m = _WRK_RESULT.search(out.stdout)
    if not m:
        print(f"{indent}wrk failed on {name or url}: {out.stderr.strip()[:300]}")
        return None
    n, dur, p50, p99, errors, status = (int(g) for g in m.groups())
    return {"rps": n / (dur / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "errors": errors + status}


def pct(xs, p):
    """The p-th percentile of xs (0..100), nearest rank; xs not empty."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
