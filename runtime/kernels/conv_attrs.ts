/**
 * The attrs of conv and pool ops as tfjs's ops and kernels take them (NHWC). Shared by the op
 * kernels and the direct wasm calls, which hand the same arguments to the same C kernels.
 */
import type { AttrReader } from '../../ir/ops.js';

export type Pair = [number, number];
type ExplicitPadding = [Pair, Pair, Pair, Pair];
export type Pad = 'same' | 'valid' | ExplicitPadding;

export const pair = (xs: readonly number[], what: string): Pair => {
  if (xs.length !== 2) throw new Error(`expected 2 values for ${what}, got [${xs.join(',')}]`);
  return [xs[0]!, xs[1]!];
};

/** tfjs's pad argument of a conv / pool op: 'same' | 'valid' | [[0,0],[t,b],[l,r],[0,0]] (NHWC). */
export function padOf(a: AttrReader): Pad {
  const p = a.str('padding');
  if (p === 'same' || p === 'valid') return p;
  if (p !== 'explicit') throw new Error(`unknown padding '${p}' (expected same, valid or explicit)`);
  const [t, b, l, r] = a.ints('pads');
  return [[0, 0], [t!, b!], [l!, r!], [0, 0]];
}

export const convAttrs = (a: AttrReader) => ({
  strides: pair(a.ints('strides'), 'strides'),
  pad: padOf(a),
  dilations: pair(a.ints('dilations'), 'dilations'),
});

export const poolAttrs = (a: AttrReader) => ({
  filterSize: pair(a.ints('filter_size'), 'filter_size'),
  strides: pair(a.ints('strides'), 'strides'),
  pad: padOf(a),
});
