/** Import rules: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, composed from IR ops. */
import { isStatic } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import type { NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

/**
 * loss[n, d…] = -input[n, target[n, d…], d…] · weight[target[n, d…]], zero where the target
 * is ignore_index; reduced by 'none', 'sum' or 'mean' (the weighted mean: Σ loss / Σ weight).
 */
function nll(c: NodeCtx, input: Value, target: Value, weight: Value | undefined): Value {
  const r = input.shape.length;
  if (r < 2) fail(`input must be [N, C, …], got rank ${r}`);
  const classes = input.shape[1]!;
  if (!isStatic(classes)) fail('needs a static class count');
  const reduction = c.attr.string('reduction', 'mean');
  if (!['none', 'sum', 'mean'].includes(reduction)) fail(`unknown reduction '${reduction}'`);
  const ignore = c.attr.int('ignore_index');
  let t = c.b.cast(target, 'int32');
  let valid: Value | undefined;
  if (ignore !== undefined) {
    valid = c.b.op('not_equal', [t, c.b.scalar(ignore, 'int32')]);
    t = c.b.op('select', [valid, t, c.b.scalar(0, 'int32')]);
  }
  const oh = c.b.moveAxis(c.b.op('one_hot', [t], { depth: classes, on_value: 1, off_value: 0, dtype: input.dtype }), r - 1, 1);
  const picked = c.b.op('reduce_sum', [c.b.op('mul', [input, oh])], { axes: [1], keep_dims: false });
  let w: Value | undefined = weight ? c.b.op('gather', [weight, t], { axis: 0, batch_dims: 0 }) : undefined;
  if (valid) {
    const v = c.b.cast(valid, input.dtype);
    w = w ? c.b.op('mul', [w, v]) : v;
  }
  let loss = c.b.op('neg', [picked]);
  if (w) loss = c.b.op('mul', [loss, w]);
  if (reduction === 'none') return loss;
  const all = loss.shape.map((_, i) => i);
  const sum = c.b.op('reduce_sum', [loss], { axes: all, keep_dims: false });
  if (reduction === 'sum') return sum;
  if (!w) return c.b.op('reduce_mean', [loss], { axes: all, keep_dims: false });
  return c.b.op('div', [sum, c.b.op('reduce_sum', [c.b.op('mul', [c.b.op('ones_like', [loss]), w])], { axes: all, keep_dims: false })]);
}

export const IMPORT_LOSS_RULES = {
  NegativeLogLikelihoodLoss: (c) => nll(c, c.input(0), c.input(1), c.optInput(2)),
  SoftmaxCrossEntropyLoss: (c) => {
    const logp = c.b.op('log_softmax', [c.input(0)], { axis: 1 });
    return [nll(c, logp, c.input(1), c.optInput(2)), logp];
  },
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_LOSS_MAKES = {
  neg: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  ones_like: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  not_equal: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  reduce_sum: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  reduce_mean: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  log_softmax: ['SoftmaxCrossEntropyLoss'],
  gather: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  one_hot: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
} satisfies MadeBy<typeof IMPORT_LOSS_RULES>;
