/** ir/perm.ts: transpose perms compose, invert and cancel as transposes of data do. */
import { describe, expect, it } from 'vitest';
import { cancelsPerm, composePerm, invertPerm, isIdentityPerm } from '../../ir/perm.js';

/** transpose of a shape: result dim i is shape[perm[i]] (what a transpose does to dims, which are distinct here). */
const transposeShape = (shape: readonly number[], perm: readonly number[]) => perm.map((p) => shape[p]!);

const PERMS = [[0, 1, 2, 3], [0, 2, 3, 1], [0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 3, 2], [2, 0, 3, 1]];
const SHAPE = [2, 3, 5, 7];

describe('ir/perm', () => {
  it('composePerm(outer, inner) is transposing by inner, then by outer', () => {
    for (const inner of PERMS) for (const outer of PERMS) {
      expect(transposeShape(SHAPE, composePerm(outer, inner))).toEqual(transposeShape(transposeShape(SHAPE, inner), outer));
    }
  });

  it('invertPerm undoes a perm, on either side', () => {
    for (const p of PERMS) {
      expect(transposeShape(transposeShape(SHAPE, p), invertPerm(p))).toEqual(SHAPE);
      expect(isIdentityPerm(composePerm(p, invertPerm(p)))).toBe(true);
      expect(isIdentityPerm(composePerm(invertPerm(p), p))).toBe(true);
    }
  });

  it('cancelsPerm is exactly "the composition is the identity"', () => {
    for (const inner of PERMS) for (const outer of PERMS) {
      expect(cancelsPerm(outer, inner)).toBe(isIdentityPerm(composePerm(outer, inner)));
    }
    expect(cancelsPerm([0, 2, 3, 1], [0, 3, 1, 2])).toBe(true);     // NCHW → NHWC → NCHW
    expect(cancelsPerm([0, 2, 3, 1], [0, 2, 3, 1])).toBe(false);
  });

  it('a perm longer than the one it composes with is never the identity', () => {
    expect(cancelsPerm([0, 1, 2], [0, 1])).toBe(false);
    expect(isIdentityPerm(composePerm([0, 1, 2], [0, 1]))).toBe(false);
  });

  it('the identity', () => {
    expect(isIdentityPerm([])).toBe(true);
    expect(isIdentityPerm([0, 1, 2])).toBe(true);
    expect(isIdentityPerm([1, 0])).toBe(false);
  });
});
