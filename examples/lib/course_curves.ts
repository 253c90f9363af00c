/**
 * Training curves as files: a CSV (one row per epoch) and an SVG with two panels, loss and
 * accuracy, each with the training and the validation curve (a `<polyline>` per curve, one
 * point per epoch). Plain strings, no plotting library.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** What tfjs's `History` holds: `epoch` and a series per logged quantity. */
export interface Curves {
  epoch: number[];
  history: Record<string, (number | unknown)[]>;
}

/** The columns written, in order (those present in the history; `lr` when rates are given). */
export const CURVE_KEYS = ['loss', 'acc', 'val_loss', 'val_acc'] as const;

function series(h: Curves, key: string): number[] {
  return (h.history[key] ?? []).map((v) => Number(v));
}

export function curvesCsv(h: Curves, rates?: number[]): string {
  const keys = CURVE_KEYS.filter((k) => h.history[k] !== undefined);
  const cols = ['epoch', ...keys, ...(rates ? ['lr'] : [])];
  const rows = h.epoch.map((e, i) => [String(e + 1), ...keys.map((k) => String(series(h, k)[i])), ...(rates ? [String(rates[i])] : [])].join(','));
  return [cols.join(','), ...rows].join('\n') + '\n';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" axis ticks covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function panel(h: Curves, x0: number, title: string, train: string, val: string, legendAtBottom: boolean, best: number | undefined): string {
  const W = 440, H = 300, L = 56, R = 16, T = 34, B = 44;
  const pw = W - L - R, ph = H - T - B;
  const curves = [
    { key: train, label: 'training', colour: '#1f77b4', dash: '' },
    { key: val, label: 'validation', colour: '#ff7f0e', dash: ' stroke-dasharray="6 3"' },
  ].filter((c) => h.history[c.key] !== undefined);
  const all = curves.flatMap((c) => series(h, c.key)).filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!all.length) { lo = 0; hi = 1; }
  const pad = (hi - lo) * 0.05 || 0.05;
  lo -= pad; hi += pad;
  const n = h.epoch.length;
  const xOf = (i: number) => x0 + L + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const yOf = (v: number) => T + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<g class="panel" data-title="${esc(title)}">`);
  parts.push(`<text x="${x0 + L + pw / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${x0 + L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (const t of ticks(lo, hi)) {
    const y = yOf(t).toFixed(1);
    parts.push(`<line x1="${x0 + L}" x2="${x0 + L + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${t}</text>`);
  }
  const every = Math.max(1, Math.ceil(n / 10));
  h.epoch.forEach((e, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    parts.push(`<text x="${xOf(i).toFixed(1)}" y="${T + ph + 16}" text-anchor="middle" font-size="11">${e + 1}</text>`);
  });
  parts.push(`<text x="${x0 + L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">epoch</text>`);
  if (best !== undefined && best >= 0 && best < n) {
    const x = xOf(best).toFixed(1);
    parts.push(`<line class="best" x1="${x}" x2="${x}" y1="${T}" y2="${T + ph}" stroke="#2ca02c" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${x}" y="${T - 4}" text-anchor="middle" font-size="10" fill="#2ca02c">restored</text>`);
  }
  curves.forEach((c) => {
    const pts = series(h, c.key).map((v, i) => `${xOf(i).toFixed(2)},${yOf(v).toFixed(2)}`).join(' ');
    parts.push(`<polyline class="curve" data-series="${esc(c.key)}" points="${pts}" fill="none" stroke="${c.colour}" stroke-width="2"${c.dash}/>`);
  });
  // The legend, over the curves on a white box: top right for loss, bottom right for accuracy.
  const legendTop = legendAtBottom ? T + ph - 8 - 16 * curves.length : T + 6;
  parts.push(`<rect x="${x0 + L + pw - 116}" y="${legendTop}" width="108" height="${16 * curves.length + 4}" fill="white" fill-opacity="0.85"/>`);
  curves.forEach((c, k) => {
    const ly = legendTop + 10 + k * 16;
    parts.push(`<line x1="${x0 + L + pw - 110}" x2="${x0 + L + pw - 90}" y1="${ly}" y2="${ly}" stroke="${c.colour}" stroke-width="2"${c.dash}/>`);
    parts.push(`<text x="${x0 + L + pw - 86}" y="${ly}" dominant-baseline="middle" font-size="11">${c.label}</text>`);
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** `best`: the epoch (0-based) whose weights were restored, marked in both panels. */
export function curvesSvg(h: Curves, opts: { title?: string; best?: number } = {}): string {
  const title = opts.title ?? 'Training curves';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<svg xmlns="http://www.w3.org/2000/svg" width="880" height="320" viewBox="0 0 880 320" font-family="sans-serif">',
    `<title>${esc(title)}</title>`,
    '<rect width="880" height="320" fill="white"/>',
    panel(h, 0, 'loss', 'loss', 'val_loss', false, opts.best),
    panel(h, 440, 'accuracy', 'acc', 'val_acc', true, opts.best),
    '</svg>',
    '',
  ].join('\n');
}

/** Writes `<dir>/curves.csv` and `<dir>/curves.svg`; returns their paths. */
export function writeCurves(dir: string, h: Curves, rates?: number[], best?: number): { csv: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const csv = path.join(dir, 'curves.csv'), svg = path.join(dir, 'curves.svg');
  writeFileSync(csv, curvesCsv(h, rates));
  writeFileSync(svg, curvesSvg(h, best === undefined ? {} : { best }));
  return { csv, svg };
}
