/**
 * lower-for-backend: rewrites an op into an equivalent form that the graph's backend runs much
 * faster, only where that was measured: the rules named in the backend's traits
 * (ctx.backend.lowerings, set in runtime/backends/traits.ts from the table below). Unknown
 * backend (ONNX export, gc.optimize without a backend): nothing changes.
 *
 * Measured with `npx tsx bench/lowering_cliffs.ts wasm cpu` (tfjs 4.22, Node 20, 2 cores,
 * median of 9 runs after 2 warm-ups, read back included). webgpu was not measured (no
 * hardware adapter here; SwiftShader timings say nothing about a GPU): no rule runs there.
 *
 *   rule               case (m,k,n or elements)              wasm: as is → lowered   cpu: as is → lowered
 *   matmul-transposed  [784,64,256] transpose_a (a dW)       9.71 → 1.10 ms          26.2 → 23.4 (noise; not applied)
 *                      [784,64,256] transpose_b               8.30 → 1.09
 *                      [128,128,128] transpose_a / _b         1.28 → 0.19 / 1.27 → 0.22
 *                      [512,512,512] transpose_a / _b         206 → 7.7 / 78 → 8.0    251 → 288 (tB; worse)
 *                      [32,512,10] transpose_a / _b           0.11 → 0.07 / 0.11 → 0.05 (below the threshold)
 *                      [1,784,128] transpose_b                0.07 → 0.53 (worse: below the threshold)
 *                      [8,64,128]ᵀ·[8,64,96] (rank 3)         3.88 → 3.94 (no gain: rank 2 only)
 *   (tanh-via-sigmoid  tanh, 4M                               72.9 → 13.6 ms          dropped: see Numerics)
 *   maximum-zero-relu  maximum(x, 0), 4M                      42.1 → 3.0 ms           79.9 → 59.2 ms
 *   pow-two-square     pow(x, 2), 4M                          66.7 → 2.8 ms           80.0 → 12.9 ms
 *
 * Threshold of matmul-transposed: m·k·n ≥ 2^18 with a symbolic dim counted as 32, or the
 * transposed operand is a constant (fold-constants then transposes it once, for free).
 *
 * Not lowered although slow on wasm, because no exact rewrite is faster: exp (23–55 ms vs
 * sigmoid 6–12), sin/cos (~115 ms), softplus, selu, erf (35–66 ms); reductions over a leading
 * axis (sum over axis 0 of [4096,1024]: 45 ms vs 3.7 ms over axis 1) are a transpose inside
 * tfjs already. min(max(x, 0), 6) → relu6 is 56 → 4.7 ms on wasm, but wasm's relu6 and clip
 * turn NaN into 0 where minimum/maximum keep it: not equivalent, not lowered.
 *
 * Numerics: maximum(x, 0) and relu agree on NaN (both NaN) on cpu and wasm; pow(x, 2) and x·x
 * are exact on both.
 *
 * tanh is not lowered. tanh(x) = 2·sigmoid(2x) − 1 cancels near 0: tanh(1e-8) came out 0,
 * tanh(−1e-7) 40% off, tanh(−0) as +0 (relative error 1 below 1e-7, 1e-5 at 1e-3; wasm's Tanh
 * is within 1.6e-7 relative everywhere). The accurate form, where(x² < 0.3025, x + x³·P(x²),
 * 2·sigmoid(2x) − 1) with a degree-3 P (9.8e-8 relative in float32 on |x| < 0.55, 3.3e-7 beyond),
 * is 16 nodes and measured no faster than Tanh on wasm (2 shared cores, read back included:
 * tfjs ops, median of 9, 4M elements 201 vs 220–270 ms; compiled for wasm, median of 11, 4M
 * 218 vs 224 ms, 64K 6.3 vs 2.6 ms). test/ir/tanh_lowering.test.ts bounds the relative error.
 */
import type { BackendTraits } from '../backend_traits.js';
import type { Dim } from '../dim.js';
import { isStatic } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import { opDef } from '../ops.js';
import type { Pass, PassContext } from './pass.js';
import { constData, insertBefore, replaceNode, splatValue, typeEq } from './rewrite.js';

type Match = { readonly rewrite: (g: Graph) => Value } | { readonly why: string };

/** The rules, by name (a backend's traits list the ones that pay there), in the order they are tried. */
export const LOWERING_NAMES = ['matmul-transposed', 'maximum-zero-relu', 'pow-two-square'] as const;
export type LoweringName = (typeof LOWERING_NAMES)[number];

export interface LoweringRule {
  readonly match: (n: Node) => Match;
}

const miss = (why: string): Match => ({ why });

/** Symbolic dims (a batch) count as this many for the size threshold. */
const SYMBOLIC_DIM_ESTIMATE = 32;
/** Transposed rank-2 matmuls at least this large (m·k·n) run faster with an explicit transpose on wasm. */
const MATMUL_TRANSPOSE_MIN_WORK = 1 << 18;

const dimEstimate = (d: Dim): number => (isStatic(d) ? d : SYMBOLIC_DIM_ESTIMATE);

/** A one-element constant whose broadcast leaves `x`'s type unchanged, equal to `value`. */
function isScalarConst(v: Value, value: number, x: Value, out: Value): boolean {
  return splatValue(v) === value && (constData(v)?.data.length ?? 0) === 1 && typeEq(x.type, out.type);
}

export const LOWERING_RULES: Readonly<Record<LoweringName, LoweringRule>> = {
  'matmul-transposed': {
    match: (n) => {
      if (opDef(n.op).fusion !== 'matmul') return miss('not a matmul');
      const ta = n.attrs['transpose_a'] === true, tb = n.attrs['transpose_b'] === true;
      if (!ta && !tb) return miss('no transposed operand');
      const [a, b] = n.inputs as [Value, Value];
      if (a.shape.length !== 2 || b.shape.length !== 2) return miss('batched matmul: wasm is as fast either way (measured rank 3)');
      const out = n.outputs[0]!;
      const m = out.shape[0]!, k = ta ? a.shape[0]! : a.shape[1]!, nn = out.shape[1]!;
      const work = dimEstimate(m) * dimEstimate(k) * dimEstimate(nn);
      const constOperand = (ta && constData(a) !== undefined) || (tb && constData(b) !== undefined);
      if (work < MATMUL_TRANSPOSE_MIN_WORK && !constOperand) return miss(`m·k·n ≈ ${work} < ${MATMUL_TRANSPOSE_MIN_WORK}: the transpose costs more than it saves`);
      return {
        rewrite: (g) => {
          const ta2 = ta ? g.add('transpose', [a], { perm: [1, 0] }, n.loc) : a;
          const tb2 = tb ? g.add('transpose', [b], { perm: [1, 0] }, n.loc) : b;
          return g.add(n.op, [ta2, tb2, ...n.inputs.slice(2)], { ...n.attrs, transpose_a: false, transpose_b: false }, n.loc);
        },
      };
    },
  },
  'maximum-zero-relu': {
    match: (n) => {
      if (n.op !== 'maximum') return miss('not a maximum');
      const [a, b] = n.inputs as [Value, Value];
      const out = n.outputs[0]!;
      const x = isScalarConst(b, 0, a, out) ? a : isScalarConst(a, 0, b, out) ? b : undefined;
      if (!x) return miss('neither operand is a one-element constant 0 (of a broadcast that keeps the other\'s shape)');
      if (x.dtype !== 'float32') return miss(`${x.dtype} operands`);
      return { rewrite: (g) => g.add('relu', [x], {}, n.loc) };
    },
  },
  'pow-two-square': {
    match: (n) => {
      if (n.op !== 'pow') return miss('not a pow');
      const [x, e] = n.inputs as [Value, Value];
      if (!isScalarConst(e, 2, x, n.outputs[0]!)) return miss('the exponent is not a one-element constant 2');
      if (x.dtype !== 'float32') return miss(`${x.dtype} operands`);
      return { rewrite: (g) => g.add('square', [x], {}, n.loc) };
    },
  },
};

/** The rules that pay on `backend` (its traits' lowerings), in LOWERING_NAMES order. */
function rulesFor(backend: BackendTraits | undefined): LoweringRule[] {
  if (backend === undefined) return [];
  return LOWERING_NAMES.filter((name) => backend.lowerings.includes(name)).map((name) => LOWERING_RULES[name]);
}

/** For each rule that applies on `backend`, why it does not rewrite `n` (undefined: it does). */
export function explainLowering(n: Node, backend: BackendTraits): Array<{ rule: LoweringName; why: string | undefined }> {
  return LOWERING_NAMES.filter((name) => backend.lowerings.includes(name)).map((rule) => {
    const m = LOWERING_RULES[rule].match(n);
    return { rule, why: 'why' in m ? m.why : undefined };
  });
}

export function lowerForBackendIn(g: Graph, ctx: Pick<PassContext, 'backend'>): boolean {
  const rules = rulesFor(ctx.backend);
  if (rules.length === 0) return false;
  let changed = false;
  for (const n of [...g.nodes]) {
    for (const r of rules) {
      const m = r.match(n);
      if ('why' in m) continue;
      let added: Node[] = [];
      const before = g.nodes.length;
      const v = insertBefore(g, n, () => {
        const out = m.rewrite(g);
        added = g.nodes.slice(before);
        return out.producer!;
      }).outputs[0]!;
      // insertBefore moved only the last node; put the helpers it built before `n` as well.
      for (const a of added) if (a !== v.producer) g.moveBefore(a, v.producer!);
      if (replaceNode(g, n, [v])) { changed = true; break; }
      for (let i = added.length - 1; i >= 0; i--) g.removeNode(added[i]!);
    }
  }
  return changed;
}

export const lowerForBackend: Pass = { name: 'lower-for-backend', run: (g, ctx) => lowerForBackendIn(g, ctx) };
