"""End to end: signals in `vigil run`.

SIGINT starts a stop that drains the queues; a second SIGINT while it drains
ends the process at once with exit code 130 (128 + SIGINT). The drain is made
slow on purpose: centernet with one thread behind an ingest that does not pace
itself and a motion gate that lets every frame through, so the queue before
infer is full when the first SIGINT comes. A single SIGTERM still stops
cleanly (exit 0), and signals reach the main thread only (the handler's
second-SIGINT exit would otherwise not happen promptly)."""
import os
import signal
import subprocess
import time

from vigil_harness import MULT, Failure, Vigil, check, media, run_tests, skip


def config(video, model):
    return f"""
ingest:
  realtime: false
infer:
  model: {model}
  threads: 1
  batch_size: 1
preprocess:
  motion_threshold: 0
cameras:
  - id: a
    url: "{video}"
    fps: 0
    loop: true
  - id: b
    url: "{video}"
    fps: 0
    loop: true
"""


def models_dir_has_centernet():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.isdir(os.path.join(cache, "vigil", "models", "centernet"))


def test_second_sigint_ends_drain():
    if not models_dir_has_centernet():
        skip("centernet is not fetched (vigil models fetch)")
    with Vigil([], config=config(media("vtest.avi"), "centernet"), auth=False) as v:
        time.sleep(3)  # the queues fill: ingest is far faster than infer
        v.proc.send_signal(signal.SIGINT)
        v.wait_for("the drain", lambda: "draining the queues" in v.log_text(), timeout=30)
        time.sleep(0.5)
        check(v.proc.poll() is None,
              f"the drain ended before the second SIGINT (exit {v.proc.returncode}): "
              "not slow enough to test")
        t0 = time.time()
        v.proc.send_signal(signal.SIGINT)
        try:
            code = v.proc.wait(timeout=5 * MULT)
        except subprocess.TimeoutExpired:
            raise Failure("vigil still draining 5 s after the second SIGINT")
        took = time.time() - t0
        print(f"second SIGINT: exit {code} after {took:.2f} s")
        check(code == 130, f"exit code {code} after the second SIGINT, want 130")
        check("second SIGINT" in v.log_text(), "no message for the second SIGINT")


def test_sigterm_stops_cleanly():
    with Vigil([], config=config(media("vtest.avi"), "motion"), auth=False) as v:
        time.sleep(2)
        code = v.stop(signal.SIGTERM)
        check(code == 0, f"exit code {code} after SIGTERM, want 0")
        check("received SIGTERM" in v.log_text(), "SIGTERM not logged")


def test_signal_during_start():
    """A SIGINT sent while the pipeline starts (signals blocked) arrives once
    it runs, and stops it cleanly."""
    with Vigil([], config=config(media("vtest.avi"), "motion"), auth=False) as v:
        code = v.stop(signal.SIGINT)
        check(code == 0, f"exit code {code} after SIGINT, want 0")


if __name__ == "__main__":
    run_tests([test_second_sigint_ends_drain, test_sigterm_stops_cleanly,
               test_signal_during_start])
