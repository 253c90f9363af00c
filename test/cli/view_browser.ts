/**
 * Headless chromium for the `graphc view` tests: the DOM a page has after its scripts ran
 * (--dump-dom) and screenshots, each run with its own temporary profile; and a PNG reader
 * that decodes a screenshot's pixels (zlib + PNG row filters) to tell a drawing from a blank.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** Why the browser tests are skipped, or undefined when a chromium is there. */
export const noBrowser = CHROMIUM === undefined ? 'no chromium at /usr/bin/chromium (apt-get install chromium): the browser checks of graphc view are skipped' : undefined;

function chromium(args: string[], timeoutMs = 150_000): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), 'graphc-view-chromium-'));
  return new Promise<string>((resolve, reject) => {
    execFile(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
      '--disable-extensions', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, ...args],
    { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`chromium ${args.join(' ')}: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** The page's DOM after its scripts ran; `hash` (without '#') is appended to the file URL. */
export function dumpDom(file: string, hash = ''): Promise<string> {
  const url = pathToFileURL(file).href + (hash ? `#${hash}` : '');
  return chromium(['--dump-dom', url]);
}

export async function screenshot(file: string, png: string, size = '1200,900', hash = ''): Promise<void> {
  const url = pathToFileURL(file).href + (hash ? `#${hash}` : '');
  await chromium([`--screenshot=${png}`, `--window-size=${size}`, '--hide-scrollbars', url]);
}

export interface Png { width: number; height: number; /** RGBA or RGB rows without filter bytes */ pixels: Uint8Array; channels: number }

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what chromium writes). */
export function readPng(file: string): Png {
  const b = readFileSync(file);
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((x, i) => b[i] === x)) throw new Error(`${file}: not a PNG`);
  let off = 8, width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    const data = b.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      depth = data[8]!; colorType = data[9]!; interlace = data[12]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error(`${file}: PNG depth ${depth} color type ${colorType} interlace ${interlace} not read here`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels]! : 0;
      const up = y > 0 ? px[(y - 1) * stride + x]! : 0;
      const ul = y > 0 && x >= channels ? px[(y - 1) * stride + x - channels]! : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = up;
      else if (f === 3) pred = (a + up) >> 1;
      else if (f === 4) {
        const p = a + up - ul, pa = Math.abs(p - a), pb = Math.abs(p - up), pc = Math.abs(p - ul);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : ul;
      }
      px[y * stride + x] = (raw[src + x]! + pred) & 255;
    }
  }
  return { width, height, pixels: px, channels };
}

/** The number of distinct colours in an image (RGB). */
export function colourCount(img: Png): number {
  const seen = new Set<number>();
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    seen.add((img.pixels[i]! << 16) | (img.pixels[i + 1]! << 8) | img.pixels[i + 2]!);
  }
  return seen.size;
}
