"""End to end under valgrind memcheck: `vigil run` on two seconds of the
sample video (ingest, preprocess, the motion model, sink, API) until every
source has ended, then SIGTERM. Any invalid read or write, use of
uninitialised memory, or definitely lost block fails the test (valgrind
--error-exitcode). Skipped (77) only when valgrind is not installed."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from vigil_harness import BINARY, MULT, check, media, run_tests, skip

VG_EXIT = 99


def test_vigil_run_under_memcheck():
    vg = shutil.which("valgrind")
    if not vg:
        skip("valgrind is not installed (scripts/setup.sh test installs it)")
    if not shutil.which("ffmpeg"):
        skip("ffmpeg is not installed (needed to cut the two-second clip)")
    video = media("vtest.avi")
    tmp = tempfile.mkdtemp(prefix="vigil-vg-")
    ok = False
    try:
        clip = os.path.join(tmp, "clip.avi")
        r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", video, "-t", "2", "-c", "copy",
                            clip], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"ffmpeg: {r.stderr}")
        cfg = os.path.join(tmp, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(f"""
ingest: {{ realtime: false }}
infer: {{ model: motion, threads: 1 }}
cameras:
  - {{ id: street, url: "{clip}", fps: 0, loop: false }}
""")
        log_path = os.path.join(tmp, "vg.log")
        vglog = os.path.join(tmp, "memcheck.log")
        cmd = [vg, "--error-exitcode=%d" % VG_EXIT, "--leak-check=full",
               "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
               "--track-origins=yes", "--log-file=" + vglog,
               BINARY, "run", "--config", cfg, "--http", "127.0.0.1:0",
               "--data-dir", os.path.join(tmp, "data")]
        with open(log_path, "w+") as log:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.time() + 300 * MULT
            while time.time() < deadline and p.poll() is None:
                with open(log_path) as f:
                    if "every source has ended" in f.read():
                        break
                time.sleep(0.5)
            check(p.poll() is None, f"vigil exited early with {p.returncode}")
            with open(log_path) as f:
                text = f.read()
            check("every source has ended" in text, "the clip did not end in time under valgrind")
            time.sleep(1)
            p.send_signal(signal.SIGTERM)
            try:
                code = p.wait(timeout=180 * MULT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
        with open(vglog) as f:
            report = f.read()
        summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
        leaks = re.search(r"definitely lost: ([\d,]+) bytes", report)
        print(f"memcheck: exit {code}, {summary.group(0) if summary else 'no summary'}, "
              f"definitely lost: {leaks.group(1) if leaks else '0'} bytes")
        check(code == 0, f"exit code {code} under valgrind (99 = memcheck errors):\n"
              + report[-6000:])
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    run_tests([test_vigil_run_under_memcheck])
