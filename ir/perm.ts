/**
 * Permutations as transposes use them (`transpose(x, perm)`: result dim i is x's dim
 * perm[i]). The one place that composes, inverts and cancels them: the IR's simplify rules,
 * the ONNX importer's builder and the ONNX exporter's transpose sinking all read these.
 */

/** Whether `p` is the identity (a transpose by it changes nothing). */
export function isIdentityPerm(p: readonly number[]): boolean {
  return p.every((x, i) => x === i);
}

/**
 * transpose(transpose(x, inner), outer) as one perm: entry i is inner[outer[i]].
 * An `outer` entry past `inner` gives an undefined entry (never the identity).
 */
export function composePerm(outer: readonly number[], inner: readonly number[]): number[] {
  const perm: number[] = [];
  for (const i of outer) perm.push(inner[i]!);
  return perm;
}

/** Whether transpose(transpose(x, inner), outer) is x. */
export function cancelsPerm(outer: readonly number[], inner: readonly number[]): boolean {
  return outer.every((q, i) => inner[q] === i);
}

/** The perm undoing `p`: transpose(transpose(x, p), invertPerm(p)) is x. */
export function invertPerm(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((q, i) => { inv[q] = i; });
  return inv;
}
