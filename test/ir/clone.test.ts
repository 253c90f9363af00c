import { describe, expect, it } from 'vitest';
import { printGraph } from '../../ir/printer.js';
import { verifyIssues } from '../../ir/verify.js';
import { FIXTURES } from './fixtures.js';
import { graphDiff } from './graph_eq.js';

describe('Graph.clone', () => {
  for (const [name, build] of FIXTURES) {
    it(`is an equal, independent graph with the same ids and names: ${name}`, () => {
      const g = build();
      const c = g.clone();
      expect(printGraph(c)).toBe(printGraph(g));
      expect(graphDiff(g, c)).toEqual([]);
      expect(verifyIssues(c)).toEqual([]);
      expect(c.nodes.map((n) => n.id)).toEqual(g.nodes.map((n) => n.id));
      expect([...c.values()].some((v) => [...g.values()].includes(v))).toBe(false);
      // Independent: emptying the clone leaves the original as it was.
      const before = printGraph(g);
      c.outputs = [];
      for (const n of [...c.nodes].reverse()) if (n.outputs.every((o) => o.uses.length === 0)) c.nodes.splice(c.nodes.indexOf(n), 1);
      expect(printGraph(g)).toBe(before);
      // Names stay claimed in the clone; new values get fresh ones.
      for (const v of g.values()) if (v.name !== undefined) expect(c.hasName(v.name)).toBe(true);
    });
  }
});
