/**
 * Every graph a test hands to a Session is verified (SSA, order, use lists, types equal to
 * inference) and must survive the text round trip: print(parse(print(g))) === print(g).
 * This runs for every test file (vitest setupFiles), so the property holds for every graph
 * the suite builds through compile, trace + Session, or variable initialisation.
 */
import { Session } from '../runtime/session.js';
import type { Graph } from '../ir/graph.js';
import { printGraph } from '../ir/printer.js';
import { parseGraph } from '../ir/parser.js';
import { verifyGraph } from '../ir/verify.js';

function check(g: Graph): void {
  verifyGraph(g);
  const text = printGraph(g);
  const again = printGraph(parseGraph(text));
  if (again !== text) {
    const a = text.split('\n'), b = again.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    throw new Error(`graph text does not round trip at line ${i + 1}:\n  printed:  ${a[i]}\n  reparsed: ${b[i]}`);
  }
}

const create = Session.create.bind(Session);
Session.create = async (graph, opts) => { check(graph); return create(graph, opts); };
const forBackend = Session.forBackend.bind(Session);
Session.forBackend = (graph, name, seed) => { check(graph); return forBackend(graph, name, seed); };
