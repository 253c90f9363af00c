// The CLI's status of long steps (src/cli/progress.ts): a live cli-progress bar on a terminal,
// drawn when the step starts (a step that blocks the event loop still shows its name) and
// redrawn as it reports progress; one plain line per step elsewhere; nothing under --quiet.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeStatus } from '../../src/cli/progress.js';

/** A stream that records what is written, with isTTY and the cursor calls cli-progress makes. */
function fakeStream(tty: boolean) {
  const chunks: string[] = [];
  const s = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & Record<string, unknown>;
  Object.assign(s, {
    isTTY: tty, columns: 100,
    cursorTo: (x: number, _y: unknown, cb?: () => void) => { chunks.push(`<cursor ${x}>`); cb?.(); return true; },
    clearLine: (_d: number, cb?: () => void) => { cb?.(); return true; },
    moveCursor: (_x: number, _y: number, cb?: () => void) => { cb?.(); return true; },
  });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* a step that blocks the event loop */ }
}

describe('progress', () => {
  it('on a terminal: the step is drawn before it runs, redrawn with its progress while it blocks, and ends with ✔', async () => {
    const { stream, text } = fakeStream(true);
    const status = makeStatus({ stream });
    const seenAtStart: string[] = [];
    const r = await status.step('optimizing', (tick) => {
      seenAtStart.push(text());
      for (let i = 1; i <= 4; i++) { busy(200); tick(i, 4, `pass ${i}`); }
      return 42;
    });
    expect(r).toBe(42);
    expect(seenAtStart[0]).toContain('… optimizing');
    // Redrawn during the blocking step (synchronous updates), not only at the end.
    expect(text()).toMatch(/optimizing \[█+░*\] [123]\/4 pass [123]/);
    expect(text()).toMatch(/✔ optimizing \d+\.\d\d s/);
    expect(text()).toContain('\x1b[?25l'); // the cursor hidden while the bar runs
  });

  it('on a terminal: a failing step ends with ✖ and the error goes on', async () => {
    const { stream, text } = fakeStream(true);
    await expect(makeStatus({ stream }).step('tracing f', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(text()).toMatch(/✖ tracing f/);
  });

  it('elsewhere: one plain line per step, its name written when it starts', async () => {
    const { stream, text } = fakeStream(false);
    const status = makeStatus({ stream });
    await status.step('tracing f', () => { expect(text()).toBe('[graphc] tracing f …'); });
    await status.step('writing a.onnx (1.0 MB)', async () => { await new Promise((r) => setTimeout(r, 5)); });
    await expect(status.step('exporting ONNX', () => { throw new Error('x'); })).rejects.toThrow('x');
    expect(text()).toMatch(/^\[graphc\] tracing f … \d+\.\d\d s\n\[graphc\] writing a\.onnx \(1\.0 MB\) … \d+\.\d\d s\n\[graphc\] exporting ONNX … failed\n$/);
  });

  it('--quiet: nothing', async () => {
    const { stream, text } = fakeStream(true);
    expect(await makeStatus({ stream, quiet: true }).step('tracing', (tick) => { tick(1, 2); return 'ok'; })).toBe('ok');
    expect(text()).toBe('');
  });
});
