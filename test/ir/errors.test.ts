import { describe, expect, it } from 'vitest';
import { Codes, GcError } from '../../ir/errors.js';
import type { ErrorCode } from '../../ir/errors.js';

describe('error codes', () => {
  it('the Codes table gives each code one name, in code order', () => {
    const codes: readonly ErrorCode[] = Object.values(Codes);
    for (const c of codes) expect(c).toMatch(/^GC0[1-6]\d\d$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(codes);
  });

  it('a GcError prints its code first', () => {
    const e = new GcError({ code: Codes.matmul, message: 'matmul: inner dimensions differ', help: 'transpose the right operand' });
    expect(e.code).toBe('GC0203');
    expect(e.message).toBe('error[GC0203]: matmul: inner dimensions differ\n  help: transpose the right operand');
  });
});
