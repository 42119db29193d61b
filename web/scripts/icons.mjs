// Renders the dashboard's PNG icons (web/public/icon-192.png, icon-512.png,
// icon-maskable-512.png) from the same drawing as public/icon.svg: a dark
// rounded square, a blue ring, a light dot. No dependencies: the shapes are
// rasterised here with 4x4 supersampling and written as PNG with node:zlib.
//
//   node web/scripts/icons.mjs     (rewrites the three files)
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public');

const BG = [0x0f, 0x17, 0x2a];
const RING = [0x3b, 0x82, 0xf6];
const DOT = [0xe5, 0xe7, 0xeb];

// The SVG's drawing in its 64x64 units: what colour (or none) at (x, y).
// maskable: the background fills the square (no rounded corners) and the
// drawing shrinks into the central 80% safe zone.
function sample(x, y, maskable) {
  let inside;
  if (maskable) {
    inside = true;
    x = 32 + (x - 32) / 0.8;
    y = 32 + (y - 32) / 0.8;
  } else {
    const r = 12;
    const cx = Math.min(Math.max(x, r), 64 - r);
    const cy = Math.min(Math.max(y, r), 64 - r);
    inside = x >= 0 && x <= 64 && y >= 0 && y <= 64 && (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  }
  if (!inside) return null;
  const d = Math.hypot(x - 32, y - 32);
  if (d <= 5) return DOT;
  if (d >= 11 && d <= 17) return RING;
  return BG;
}

function render(size, maskable) {
  const N = 4;
  const px = Buffer.alloc(size * size * 4);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < N; sj++) {
        for (let si = 0; si < N; si++) {
          const c = sample(((i + (si + 0.5) / N) / size) * 64, ((j + (sj + 0.5) / N) / size) * 64, maskable);
          if (!c) continue;
          r += c[0]; g += c[1]; b += c[2]; a++;
        }
      }
      const o = (j * size + i) * 4;
      if (a) {
        px[o] = Math.round(r / a);
        px[o + 1] = Math.round(g / a);
        px[o + 2] = Math.round(b / a);
      }
      px[o + 3] = Math.round((a / (N * N)) * 255);
    }
  }
  return png(size, size, px);
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w, h, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) rgba.copy(raw, y * (w * 4 + 1) + 1, y * w * 4, (y + 1) * w * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

for (const [file, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
]) {
  const data = render(size, maskable);
  fs.writeFileSync(path.join(out, file), data);
  console.log(`${file}: ${size}x${size}, ${data.length} bytes`);
}
