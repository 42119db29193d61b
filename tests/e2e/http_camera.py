"""An HTTP camera for tests, Python stdlib only: what cheap IP cameras serve.

  /video.mjpg      multipart/x-mixed-replace, one JPEG part per frame at FPS, looping
                   over JPEGs that ffmpeg cut from the sample video
  /redirect/N      302 to /redirect/N+1, for ever (a camera URL that redirects forever)

HttpCamera(port, video) starts it on 127.0.0.1:port in a thread; close() stops it."""
import glob
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
import time

FPS = 10
BOUNDARY = "vigilframe"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        cam = self.server.camera
        if self.path.startswith("/redirect/"):
            n = int(self.path.rsplit("/", 1)[1] or 0)
            cam.redirects += 1
            self.send_response(302)
            self.send_header("Location", f"/redirect/{n + 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != "/video.mjpg":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        i, due = 0, time.monotonic()
        try:
            while not cam.closed:
                jpeg = cam.frames[i % len(cam.frames)]
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                self.wfile.flush()
                i += 1
                due += 1 / FPS
                time.sleep(max(0, due - time.monotonic()))
        except (BrokenPipeError, ConnectionResetError):
            pass


class HttpCamera:
    def __init__(self, port, video, frames=60, size="384:288"):
        self.tmp = tempfile.mkdtemp(prefix="vigil-httpcam-")
        subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-frames:v", str(frames),
                        "-vf", f"scale={size}", "-q:v", "5", os.path.join(self.tmp, "%03d.jpg")],
                       check=True, timeout=60)
        self.frames = [open(p, "rb").read() for p in sorted(glob.glob(self.tmp + "/*.jpg"))]
        self.closed = False
        self.redirects = 0
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.camera = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}"

    def close(self):
        self.closed = True
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)
