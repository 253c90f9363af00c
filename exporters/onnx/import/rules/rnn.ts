/**
 * Import rules: RNN, GRU and LSTM, unrolled over a static sequence length into matrix
 * products and elementwise gates (forward, reverse and bidirectional; layout 0 and 1;
 * initial states, peepholes, clip, linear_before_reset, the activation attributes, and
 * sequence_lens for forward directions).
 */
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

/** Steps an RNN, GRU or LSTM is unrolled over at most (the import's node budget may stop it earlier). */
export const RNN_STEP_LIMIT = 1 << 16;

type Act = (x: Value) => Value;
type Kind = 'RNN' | 'GRU' | 'LSTM';

const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const DEFAULT_ACTS: Record<Kind, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };

/** The activation functions of a node, alpha/beta consumed in order (per the ONNX defaults). */
function activations(c: NodeCtx, kind: Kind, dirs: number): Act[] {
  const names = c.attr.strings('activations') ?? [...DEFAULT_ACTS[kind], ...(dirs === 2 ? DEFAULT_ACTS[kind] : [])];
  const alphas = [...c.attr.floats('activation_alpha', [])], betas = [...c.attr.floats('activation_beta', [])];
  const s = (x: number, like: Value) => c.b.scalar(x, like.dtype);
  return names.map((name): Act => {
    switch (name.toLowerCase()) {
      case 'tanh': return (x) => c.b.op('tanh', [x]);
      case 'sigmoid': return (x) => c.b.op('sigmoid', [x]);
      case 'relu': return (x) => c.b.op('relu', [x]);
      case 'softsign': return (x) => c.b.op('div', [x, c.b.op('add', [c.b.op('abs', [x]), s(1, x)])]);
      case 'softplus': return (x) => c.b.op('softplus', [x]);
      case 'leakyrelu': { const a = alphas.shift() ?? 0.01; return (x) => c.b.op('leaky_relu', [x], { alpha: a }); }
      case 'thresholdedrelu': { const a = alphas.shift() ?? 1; return (x) => c.b.op('select', [c.b.op('greater', [x, s(a, x)]), x, s(0, x)]); }
      case 'elu': { const a = alphas.shift() ?? 1; return (x) => c.b.op('select', [c.b.op('greater', [x, s(0, x)]), x, c.b.op('mul', [c.b.op('expm1', [x]), s(a, x)])]); }
      case 'affine': { const a = alphas.shift() ?? 1, b = betas.shift() ?? 0; return (x) => c.b.op('add', [c.b.op('mul', [x, s(a, x)]), s(b, x)]); }
      case 'scaledtanh': { const a = alphas.shift() ?? 1, b = betas.shift() ?? 1; return (x) => c.b.op('mul', [c.b.op('tanh', [c.b.op('mul', [x, s(b, x)])]), s(a, x)]); }
      case 'hardsigmoid': {
        const a = alphas.shift() ?? 0.2, b = betas.shift() ?? 0.5;
        return (x) => c.b.op('clip', [c.b.op('add', [c.b.op('mul', [x, s(a, x)]), s(b, x)])], { min: 0, max: 1 });
      }
      default: return fail(`unknown activation '${name}'`);
    }
  });
}

/** Slice `i` of axis 0, that axis dropped. */
function at(c: NodeCtx, x: Value, i: number): Value {
  const size = x.shape.map((d, k) => (k === 0 ? 1 : d));
  const begin = x.shape.map((_, k) => (k === 0 ? i : 0));
  return c.b.squeeze(c.b.op('slice', [x], { begin, size }), [0]);
}

function rnnRule(kind: Kind): ImportRule {
  return (c) => {
    const layout = c.attr.int('layout', 0);
    let x = c.input(0);
    if (layout === 1) x = c.b.transpose(x, [1, 0, 2]);                      // → [seq, batch, input]
    const w = c.input(1), r = c.input(2);
    const h = c.attr.int('hidden_size') ?? (isStatic(r.shape[2]!) ? r.shape[2] : fail('hidden_size is missing'));
    const direction = c.attr.string('direction', 'forward');
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const seq = x.shape[0]!;
    if (!isStatic(seq)) fail(`needs a static sequence length, got ${shapeToString(x.shape)}`);
    if (seq > RNN_STEP_LIMIT) fail(`a sequence of ${seq} steps (operand ${x.dtype}${shapeToString(x.shape)}) is past the ${RNN_STEP_LIMIT} steps graphc unrolls`);
    const batch = x.shape[1]!;
    const g = GATES[kind];
    if (kind === 'LSTM' && c.attr.int('input_forget', 0) !== 0) fail('input_forget = 1 is not supported');
    const clip = c.attr.float('clip');
    const acts = activations(c, kind, dirs);
    const perDir = acts.length / dirs;
    const linearBeforeReset = c.attr.int('linear_before_reset', 0) !== 0;
    const bias = c.optInput(3), initH = c.optInput(5), initC = c.optInput(6), peep = c.optInput(7);

    // sequence_lens: ignored when every length is the full sequence, else a mask per step.
    let lens: Value | undefined;
    if (c.has(4)) {
      const k = c.constInput(4);
      const full = k !== undefined && Array.from({ length: k.data.length }, (_, i) => elementAt(k, i)).every((v) => v === seq);
      if (!full) {
        if (direction !== 'forward') fail('sequence_lens shorter than the sequence are supported for forward directions only');
        lens = c.b.reshape(c.b.cast(c.input(4), 'int32'), [batch, 1]);
      }
    }
    const zeros = c.b.op('broadcast_to', [c.b.scalar(0, x.dtype)], { shape: [batch, h] });

    const ys: Value[][] = [], hs: Value[] = [], cs: Value[] = [];
    for (let d = 0; d < dirs; d++) {
      const reverse = direction === 'reverse' || d === 1;
      const [f, gAct, hAct] = [acts[d * perDir]!, acts[d * perDir + 1], acts[d * perDir + 2]];
      const wd = at(c, w, d), rd = at(c, r, d);                            // [g·h, input], [g·h, h]
      // X·Wᵀ for all steps at once, plus both biases.
      let xw = c.b.op('matmul', [x, wd], { transpose_a: false, transpose_b: true });   // [seq, batch, g·h]
      let rb: Value | undefined;
      if (bias) {
        const bd = at(c, bias, d);
        const [wb, rbias] = c.b.ops('split', [bd], { sizes: [g * h, g * h], axis: 0 });
        if (kind === 'GRU') {
          // GRU's recurrent bias of the hidden gate goes with the reset product: kept apart.
          xw = c.b.op('add', [xw, wb!]);
          rb = rbias!;
        } else {
          xw = c.b.op('add', [xw, c.b.op('add', [wb!, rbias!])]);
        }
      }
      const p = peep ? c.b.ops('split', [at(c, peep, d)], { sizes: [h, h, h], axis: 0 }) : undefined;   // Pi, Po, Pf
      let hPrev = initH ? at(c, initH, d) : zeros;
      let cPrev = initC ? at(c, initC, d) : zeros;
      const clipped = (v: Value) => (clip === undefined ? v : c.b.op('clip', [v], { min: -clip, max: clip }));
      const out: Value[] = new Array<Value>(seq);
      for (let s = 0; s < seq; s++) {
        const t = reverse ? seq - 1 - s : s;
        const xt = at(c, xw, t);                                          // [batch, g·h]
        let hNew: Value, cNew: Value | undefined;
        if (kind === 'RNN') {
          hNew = f(clipped(c.b.op('add', [xt, c.b.op('matmul', [hPrev, rd], { transpose_a: false, transpose_b: true })])));
        } else if (kind === 'GRU') {
          const [xz, xr, xh] = c.b.ops('split', [xt], { sizes: [h, h, h], axis: 1 });
          const [rz, rr, rh] = c.b.ops('split', [rd], { sizes: [h, h, h], axis: 0 });
          const [bz, br, bh] = rb ? c.b.ops('split', [rb], { sizes: [h, h, h], axis: 0 }) : [undefined, undefined, undefined];
          const mm = (a: Value, m: Value) => c.b.op('matmul', [a, m!], { transpose_a: false, transpose_b: true });
          const plus = (a: Value, b2: Value | undefined) => (b2 ? c.b.op('add', [a, b2]) : a);
          const z = f(clipped(plus(c.b.op('add', [xz!, mm(hPrev, rz!)]), bz)));
          const rg = f(clipped(plus(c.b.op('add', [xr!, mm(hPrev, rr!)]), br)));
          const inner = linearBeforeReset ? c.b.op('mul', [rg, plus(mm(hPrev, rh!), bh)]) : plus(mm(c.b.op('mul', [rg, hPrev]), rh!), bh);
          const hh = gAct!(clipped(c.b.op('add', [xh!, inner])));
          const one = c.b.scalar(1, z.dtype);
          hNew = c.b.op('add', [c.b.op('mul', [c.b.op('sub', [one, z]), hh]), c.b.op('mul', [z, hPrev])]);
        } else {
          const pre = c.b.op('add', [xt, c.b.op('matmul', [hPrev, rd], { transpose_a: false, transpose_b: true })]);
          const [pi, po, pf, pc] = c.b.ops('split', [pre], { sizes: [h, h, h, h], axis: 1 });
          const peepAdd = (v: Value, k: number, state: Value) => (p ? c.b.op('add', [v, c.b.op('mul', [p[k]!, state])]) : v);
          const i = f(clipped(peepAdd(pi!, 0, cPrev)));
          const fg = f(clipped(peepAdd(pf!, 2, cPrev)));
          const cc = gAct!(clipped(pc!));
          cNew = c.b.op('add', [c.b.op('mul', [fg, cPrev]), c.b.op('mul', [i, cc])]);
          const o = f(clipped(peepAdd(po!, 1, cNew)));
          hNew = c.b.op('mul', [o, hAct!(cNew)]);
        }
        if (lens) {
          const live = c.b.op('less', [c.b.scalar(t, 'int32'), lens]);      // [batch, 1]
          out[t] = c.b.op('select', [live, hNew, zeros]);
          hNew = c.b.op('select', [live, hNew, hPrev]);
          if (cNew) cNew = c.b.op('select', [live, cNew, cPrev]);
        } else {
          out[t] = hNew;
        }
        hPrev = hNew;
        if (cNew) cPrev = cNew;
      }
      ys.push(out);
      hs.push(hPrev);
      cs.push(cPrev);
    }
    // Y: [seq, dirs, batch, h]; Y_h, Y_c: [dirs, batch, h] (layout 1: batch first).
    let y: Value | undefined, yh: Value | undefined, yc: Value | undefined;
    if (c.wants(0)) {
      const steps = Array.from({ length: seq }, (_, t) => c.b.op('pack', ys.map((o) => o[t]!), { axis: 0 }));
      y = c.b.op('pack', steps, { axis: 0 });
      if (layout === 1) y = c.b.transpose(y, [2, 0, 1, 3]);
    }
    if (c.wants(1)) {
      yh = c.b.op('pack', hs, { axis: 0 });
      if (layout === 1) yh = c.b.transpose(yh, [1, 0, 2]);
    }
    if (kind === 'LSTM' && c.wants(2)) {
      yc = c.b.op('pack', cs, { axis: 0 });
      if (layout === 1) yc = c.b.transpose(yc, [1, 0, 2]);
    }
    return [y, yh, yc];
  };
}

export const IMPORT_RNN_RULES = {
  RNN: rnnRule('RNN'),
  GRU: rnnRule('GRU'),
  LSTM: rnnRule('LSTM'),
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_RNN_MAKES = {
  abs: ['GRU', 'LSTM', 'RNN'],
  expm1: ['GRU', 'LSTM', 'RNN'],
  relu: ['GRU', 'LSTM', 'RNN'],
  sigmoid: ['GRU', 'LSTM', 'RNN'],
  softplus: ['GRU', 'LSTM', 'RNN'],
  tanh: ['GRU', 'LSTM', 'RNN'],
  leaky_relu: ['GRU', 'LSTM', 'RNN'],
  clip: ['GRU', 'LSTM', 'RNN'],
  matmul: ['GRU', 'LSTM', 'RNN'],
  pack: ['GRU', 'LSTM', 'RNN'],
  split: ['GRU', 'LSTM', 'RNN'],
  broadcast_to: ['GRU', 'LSTM', 'RNN'],
} satisfies MadeBy<typeof IMPORT_RNN_RULES>;
