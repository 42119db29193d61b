#!/usr/bin/python3
"""A real RTSP camera for tests: GStreamer's RTSP server (Python GI) serving a
video file, looped for ever, as H.264 (and a few other ways) over RTSP, UDP
or TCP interleaved. Started and stopped by scripts/rtsp-server; run with
Debian's /usr/bin/python3 (the one that has `gi`).

One player pipeline decodes the file at its own rate and loops it with
segment seeks (no gap, no time going back); it feeds an intervideosink that
every served stream reads through an intervideosrc. So any number of clients
and mounts share one decoder, and each mount only encodes.

Mounts:
  /live     H.264 (x264, a key frame every second), one pipeline for all clients
  /resize   H.264 whose resolution alternates between the file's and half of it
            every --resize-every seconds (new SPS in the stream, same session)
  /h265     H.265 (x265)
  /mjpeg    JPEG (RFC 2435)
  /unknown  a video payload FFmpeg has no depacketizer for (JPEG 2000, RFC 5371)
With --broken-sdp-port N, a plain socket on N answers OPTIONS and then every
DESCRIBE with a body that is not SDP.

Stalling: SIGUSR1 stops every stream's packets (a valve drops them; the RTSP
session and its socket stay open), SIGUSR2 lets them flow again. A client
connecting while stalled gets its SDP, then nothing.

The last line printed is the base URL, rtsp://127.0.0.1:PORT."""
import argparse
import signal
import socket
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

FPS = 10


def player(path, width, height):
    """Decodes path at its native rate into channel "vigil", looping."""
    p = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! videoscale ! videorate ! '
        f"video/x-raw,format=I420,width={width},height={height},framerate={FPS}/1 ! "
        "identity sync=true ! intervideosink channel=vigil")

    def on_message(bus, msg):
        if msg.type in (Gst.MessageType.SEGMENT_DONE, Gst.MessageType.EOS):
            p.seek_simple(Gst.Format.TIME, Gst.SeekFlags.SEGMENT, 0)
        elif msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print(f"rtsp_server: player: {err.message}", file=sys.stderr, flush=True)
            sys.exit(1)

    bus = p.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    p.set_state(Gst.State.PAUSED)
    p.get_state(Gst.CLOCK_TIME_NONE)
    p.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT, 0)
    p.set_state(Gst.State.PLAYING)
    return p


class Server:
    def __init__(self, args):
        self.args = args
        self.stalled = False
        self.valves = []
        self.resizers = []
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(args.port))
        w, h = args.width, args.height
        src = (f"intervideosrc channel=vigil timeout=5000000000 ! videoconvert ! videoscale ! "
               f"video/x-raw,format=I420,framerate={FPS}/1")
        stall = "valve name=stall drop=false"  # before the payloader: the server links pay0
        h264 = (f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS} bitrate=1500"
                f" ! {stall} ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96")
        self.mount("/live", f"{src},width={w},height={h} ! {h264}", shared=True)
        self.mount("/resize", f"{src} ! capsfilter name=size caps=video/x-raw,width={w},height={h}"
                   f" ! {h264}")
        self.mount("/h265", f"{src},width={w},height={h} ! x265enc tune=zerolatency "
                   f"speed-preset=ultrafast key-int-max={FPS} ! {stall} ! "
                   "rtph265pay name=pay0 pt=96 config-interval=-1")
        self.mount("/mjpeg", f"{src},width={w},height={h} ! jpegenc quality=70 ! {stall} ! "
                   "rtpjpegpay name=pay0 pt=26")
        self.mount("/unknown", f"{src},width={w // 4},height={h // 4} ! openjpegenc ! {stall} ! "
                   "rtpj2kpay name=pay0 pt=96")
        if self.server.attach(None) == 0:
            raise SystemExit(f"rtsp_server: cannot listen on 127.0.0.1:{args.port}")
        GLib.timeout_add(int(args.resize_every * 1000), self.toggle_size)

    def mount(self, path, launch, shared=False):
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(f"( {launch} )")
        f.set_shared(shared)
        f.connect("media-configure", self.on_media)
        self.server.get_mount_points().add_factory(path, f)

    def on_media(self, factory, media):
        bin_ = media.get_element()
        valve = bin_.get_by_name("stall")
        valve.set_property("drop", self.stalled)
        self.valves.append(valve)
        size = bin_.get_by_name("size")
        if size:
            self.resizers.append([size, False])
        media.connect("unprepared", self.on_unprepared, valve, size)

    def on_unprepared(self, media, valve, size):
        self.valves = [v for v in self.valves if v is not valve]
        self.resizers = [r for r in self.resizers if r[0] is not size]

    def toggle_size(self):
        for r in self.resizers:
            r[1] = not r[1]
            w, h = self.args.width, self.args.height
            if r[1]:
                w, h = w // 2, h // 2
            r[0].set_property("caps", Gst.Caps.from_string(f"video/x-raw,width={w},height={h}"))
        return True

    def stall(self, on):
        self.stalled = on
        for v in self.valves:
            v.set_property("drop", on)
        print(f"rtsp_server: {'stalled' if on else 'flowing'}", file=sys.stderr, flush=True)
        return True


def broken_sdp(port):
    """Answers RTSP requests on port: DESCRIBE with an application/sdp body
    that is not SDP, anything else 200 OK, then never a packet."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)

    def serve(conn):
        with conn:
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    lines = head.decode("latin-1").split("\r\n")
                    method = lines[0].split(" ")[0]
                    cseq = next((l.split(":", 1)[1].strip() for l in lines
                                 if l.lower().startswith("cseq:")), "0")
                    body = b""
                    if method == "OPTIONS":
                        status, extra = "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY\r\n"
                    elif method == "DESCRIBE":
                        body = b"this is not a session description\r\n"
                        status, extra = "200 OK", "Content-Type: application/sdp\r\n"
                    else:  # SETUP, PLAY, ...: fine, so that the SDP is the only fault
                        status, extra = "200 OK", "Session: 1\r\n"
                    conn.sendall(f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def accept():
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--media", required=True, help="the video file to serve")
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--height", type=int, default=576)
    ap.add_argument("--resize-every", type=float, default=2.0, help="seconds, /resize")
    ap.add_argument("--broken-sdp-port", type=int, default=0)
    args = ap.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    play = player(args.media, args.width, args.height)
    srv = Server(args)
    if args.broken_sdp_port:
        broken_sdp(args.broken_sdp_port)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, srv.stall, True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, srv.stall, False)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: loop.quit() or False)
    print(f"rtsp://127.0.0.1:{args.port}", flush=True)
    try:
        loop.run()
    finally:
        play.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
