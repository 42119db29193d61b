"""`vigil ocr` end to end: text rendered by ffmpeg's drawtext into JPEGs is read
back by the PP-OCRv4 pipeline (detection -> crop -> direction -> recognition)."""
import json
import os
import shutil
import subprocess
import tempfile

from vigil_harness import BINARY, check, run_tests, skip

CASES = [("HELLO VIGIL 2026", 640, 160, 56, 30, 50), ("camera 42 lobby", 560, 140, 48, 40, 40)]


def models_dir():
    return os.environ.get("VIGIL_MODELS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vigil", "models")


def render(path, text, w, h, size, x, y):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"color=white:s={w}x{h}", "-vf",
                    f"drawtext=text='{text}':fontsize={size}:fontcolor=black:x={x}:y={y}",
                    "-frames:v", "1", path], check=True)


def test_ocr_reads_rendered_text_with_its_box():
    if not os.path.exists(os.path.join(models_dir(), "ppocr", "ch_PP-OCRv4_rec_infer.onnx")):
        skip("PP-OCR models not installed (run `vigil models fetch`)")
    if not shutil.which("ffmpeg"):
        skip("ffmpeg not installed (scripts/setup.sh test)")
    tmp = tempfile.mkdtemp()
    try:
        paths = []
        for i, (text, w, h, size, x, y) in enumerate(CASES):
            paths.append(os.path.join(tmp, f"text{i}.jpg"))
            render(paths[-1], text, w, h, size, x, y)
        r = subprocess.run([BINARY, "ocr"] + paths, capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, f"vigil ocr exit {r.returncode}: {r.stderr}")
        out = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check(len(out) == len(CASES), f"{len(out)} result lines for {len(CASES)} images")
        for res, (text, w, h, size, x, y) in zip(out, CASES):
            check(res["width"] == w and res["height"] == h, f"size {res}")
            lines = res["lines"]
            check(len(lines) == 1, f"{res['image']}: {len(lines)} lines: {lines}")
            got = lines[0]["text"]
            check(got.replace(" ", "").lower() == text.replace(" ", "").lower(),
                  f"read {got!r}, rendered {text!r}")
            xs, ys = lines[0]["box"][0::2], lines[0]["box"][1::2]
            # the box starts near where the text was drawn and lies inside the image
            check(abs(min(xs) - x) < size and abs(min(ys) - y) < size, f"box {lines[0]['box']}")
            check(0 <= min(xs) and max(xs) <= w and 0 <= min(ys) and max(ys) <= h,
                  f"box outside the image: {lines[0]['box']}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    run_tests([test_ocr_reads_rendered_text_with_its_box])
