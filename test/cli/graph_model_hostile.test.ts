// Hostile GraphModels (issue 13): model.json files whose weight paths leave the folder, whose
// shards have the wrong size, whose topology is malformed (missing operands, cycles, duplicate
// names), uses ops graphc cannot convert (unknown, control flow, data-dependent shapes) or
// declares shapes graphc cannot trace — each a GcError naming the file and what is wrong, before
// any byte outside the folder is read; and random damage to a valid model.json is a GcError or a
// CliError, never a crash.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { GcError } from '../../ir/errors.js';
import { CliError } from '../../src/cli/cli_error.js';
import { loadGraphModelTarget } from '../../src/cli/graph_model.js';
import { materializeCreated } from '../../src/compile.js';
import { traceFunction } from '../../src/trace/trace_function.js';
import { A, GraphModelBuilder, ifModel, kerasReshape, mlp } from './graph_model_fixtures.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'graphc-graph-model-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }), 60_000);
let count = 0;

/** Writes the MLP fixture, lets `edit` change its model.json object, and returns the model.json path. */
function variant(edit: (json: Record<string, any>, dir: string) => void, b: GraphModelBuilder = mlp()): string {
  const dir = path.join(root, `m${count++}`, 'model');
  const file = b.write(dir);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json, dir);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

async function gcError(file: string): Promise<GcError> {
  try {
    const t = await loadGraphModelTarget(file);
    traceFunction(t.fn, t.specs, materializeCreated, t.name);
  } catch (e) {
    if (e instanceof GcError) return e;
    throw new Error(`expected a GcError, got ${String(e)}`);
  }
  throw new Error('expected a GcError, nothing was thrown');
}

const nodeNamed = (json: Record<string, any>, name: string) => (json.modelTopology.node as { name: string }[]).find((n) => n.name === name) as Record<string, any>;

describe('GraphModel weights stay inside the folder and match the manifest', () => {
  it.each([
    ['../secret.bin', /goes up a folder/],
    ['/etc/passwd', /is an absolute path/],
    ['file:///etc/passwd', /is a URL/],
    ['sub/../../secret.bin', /goes up a folder/],
  ])('weight path %s is GC0601, and the file outside is never read', async (p, why) => {
    const file = variant((json, dir) => {
      writeFileSync(path.join(dir, '..', 'secret.bin'), new Uint8Array(json.weightsManifest[0].weights.reduce((n: number, w: { shape: number[] }) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0)));
      json.weightsManifest[0].paths = [p];
    });
    const e = await gcError(file);
    expect(e.code).toBe('GC0601');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(why);
  });

  it('a shard that is a symlink out of the folder is GC0601', async () => {
    const file = variant((json, dir) => {
      const shard = json.weightsManifest[0].paths[0];
      writeFileSync(path.join(dir, '..', 'outside.bin'), readFileSync(path.join(dir, shard)));
      rmSync(path.join(dir, shard));
      symlinkSync(path.join(dir, '..', 'outside.bin'), path.join(dir, shard));
    });
    const e = await gcError(file);
    expect(e.code).toBe('GC0601');
    expect(e.message).toMatch(/through a symlink/);
  });

  it('a shard shorter or longer than the manifest declares is GC0603; a missing one GC0602', async () => {
    const short = variant((json, dir) => {
      const p = path.join(dir, json.weightsManifest[0].paths[0]);
      writeFileSync(p, readFileSync(p).subarray(0, 100));
    });
    expect((await gcError(short)).message).toMatch(/declares \d+ bytes .* hold 100 bytes/);
    const long = variant((json, dir) => {
      const p = path.join(dir, json.weightsManifest[0].paths[0]);
      writeFileSync(p, Buffer.concat([readFileSync(p), Buffer.alloc(4)]));
    });
    expect((await gcError(long)).code).toBe('GC0603');
    const missing = variant((json) => {
      json.weightsManifest[0].paths = ['group1-shard9of9.bin'];
    });
    expect((await gcError(missing)).code).toBe('GC0602');
  });

  it('a huge weight shape is refused before anything is allocated (GC0603: the files do not hold it)', async () => {
    const file = variant((json) => {
      json.weightsManifest[0].weights[0].shape = [1e9, 1e9];
    });
    const e = await gcError(file);
    expect(['GC0603', 'GC0604']).toContain(e.code);
  });

  it('a string weight is GC0604 naming the weight', async () => {
    const file = variant((json) => {
      json.weightsManifest[0].weights[1].dtype = 'string';
    });
    const e = await gcError(file);
    expect(e.code).toBe('GC0604');
    expect(e.message).toMatch(/weight 'dense\/bias' has dtype "string"/);
  });

  it('a Const without a weight, or whose weight has another shape or dtype, is GC0613 naming the node', async () => {
    const noWeight = variant((json) => {
      nodeNamed(json, 'dense_1/bias').name = 'dense_1/bias_renamed';
      nodeNamed(json, 'dense_1/BiasAdd').input[1] = 'dense_1/bias_renamed';
    });
    const e1 = await gcError(noWeight);
    expect(e1.code).toBe('GC0613');
    expect(e1.message).toMatch(/Const node 'dense_1\/bias_renamed' has no weight in weightsManifest/);
    const shape = variant((json) => {
      nodeNamed(json, 'dense/kernel').attr.value.tensor.tensorShape = A.shape([32, 16]).shape;
    });
    expect((await gcError(shape)).message).toMatch(/Const node 'dense\/kernel' has shape \[32,16\], its weight \[16,32\]/);
    const dtype = variant((json) => {
      nodeNamed(json, 'dense/bias').attr.dtype = A.type('DT_INT32');
    });
    expect((await gcError(dtype)).message).toMatch(/Const node 'dense\/bias' is int32, its weight is float32/);
  });
});

describe('GraphModel topologies graphc cannot convert are GC0613 naming the node', () => {
  it.each([
    ['Switch', /node 'dense_1\/Relu' is a Switch: TF1 control flow/],
    ['Enter', /is a Enter: TF1 control flow/],
    ['TensorListReserve', /is a TensorListReserve: a TensorList/],
    ['NonMaxSuppressionV5', /a result whose shape depends on the data/],
    ['Where', /a result whose shape depends on the data/],
  ])('op %s is refused (control flow and data-dependent shapes are not converted)', async (op, want) => {
    const file = variant((json) => {
      nodeNamed(json, 'dense_1/Relu').op = op;
    });
    const e = await gcError(file);
    expect(e.code).toBe('GC0613');
    expect(e.message).toMatch(want);
    expect(e.help).toMatch(/gc\.cond/);
  });

  it('an op tfjs-converter does not know is named with its node', async () => {
    const file = variant((json) => {
      nodeNamed(json, 'dense_1/Relu').op = 'FrobnicateV9';
    });
    const e = await gcError(file);
    expect(e.code).toBe('GC0613');
    expect(e.message).toMatch(/node 'dense_1\/Relu' has op 'FrobnicateV9', which tfjs-converter does not know/);
  });

  it('an operand naming no node, a cycle, two nodes of one name, a node that is not an object', async () => {
    const missing = variant((json) => {
      nodeNamed(json, 'dense_1/Relu').input = ['nowhere:0'];
    });
    expect((await gcError(missing)).message).toMatch(/node 'dense_1\/Relu' \(Relu\) reads 'nowhere:0', and no node is named 'nowhere'/);
    const cycle = variant((json) => {
      nodeNamed(json, 'dense_1/MatMul').input[0] = 'dense_2/Add';
    });
    expect((await gcError(cycle)).message).toMatch(/the graph has a cycle/);
    const twice = variant((json) => {
      nodeNamed(json, 'dense_1/Relu').name = 'dense_1/MatMul';
    });
    expect((await gcError(twice)).message).toMatch(/two nodes are named 'dense_1\/MatMul'/);
    const notObject = variant((json) => {
      json.modelTopology.node.push(7);
    });
    expect((await gcError(notObject)).message).toMatch(/node \d+ is not an object/);
    const noList = variant((json) => {
      json.modelTopology = { node: 'x' };
    });
    expect((await gcError(noList)).message).toMatch(/not a tfjs GraphModel|no node list/);
  });

  it('Placeholder dims out of range, an unknown rank and a string input are refused', async () => {
    const huge = variant((json) => {
      nodeNamed(json, 'x').attr.shape = A.shape([-1, 1e12]);
    });
    expect((await gcError(huge)).message).toMatch(/node 'x' \(Placeholder\) has dim "1000000000000"/);
    const negative = variant((json) => {
      nodeNamed(json, 'x').attr.shape = A.shape([-2, 16]);
    });
    expect((await gcError(negative)).code).toBe('GC0613');
    const rank = variant((json) => {
      nodeNamed(json, 'x').attr.shape = { shape: { unknownRank: true } };
    });
    expect((await gcError(rank)).message).toMatch(/input 'x' \(node 'x'\) has no shape \(unknown rank\)/);
    // Found by the random damage below: a null shape attr was a TypeError from graphc's own check.
    const nullShape = variant((json) => {
      nodeNamed(json, 'x').attr.shape = null;
    });
    expect((await gcError(nullShape)).message).toMatch(/node 'x' \(Placeholder\): attr shape is not/);
    const str = variant((json) => {
      nodeNamed(json, 'x').attr.dtype = { type: 'DT_STRING' };
    });
    expect((await gcError(str)).message).toMatch(/node 'x' \(Placeholder\) has dtype "DT_STRING"/);
  });

  it('If / While naming functions that are missing, recursive or malformed, and an initializer graph (hash tables) are refused', async () => {
    const noFn = variant((json) => {
      Object.assign(nodeNamed(json, 'dense_1/Relu'), { op: 'StatelessWhile', attr: { cond: { func: { name: 'nowhere' } }, body: { func: { name: 'nowhere' } } } });
    });
    expect((await gcError(noFn)).message).toMatch(/node 'dense_1\/Relu' \(While\): its cond function "nowhere" is not in the graph's library/);
    const fn = (name: string, calls?: string) => ({
      signature: { name, inputArg: [{ name: 'a', type: 'DT_FLOAT' }], outputArg: [{ name: 'o', type: 'DT_FLOAT' }] },
      nodeDef: calls === undefined ? [{ name: 'r', op: 'Relu', input: ['a'] }]
        : [{ name: 'r', op: 'StatelessIf', input: ['a', 'a'], attr: { then_branch: { func: { name: calls } }, else_branch: { func: { name: calls } } } }],
      ret: { o: 'r:0' },
    });
    const recursive = variant((json) => {
      json.modelTopology.library = { function: [fn('f', 'g'), fn('g', 'f')] };
      Object.assign(nodeNamed(json, 'dense_1/Relu'), { op: 'If', input: ['dense_1/BiasAdd', 'dense_1/BiasAdd'], attr: { then_branch: { func: { name: 'f' } }, else_branch: { func: { name: 'f' } } } });
    });
    expect((await gcError(recursive)).message).toMatch(/function 'f' calls itself \(f → g → f\)/);
    const badRet = variant((json) => {
      const f = fn('h');
      f.ret = { o: 'missing:0' };
      json.modelTopology.library = { function: [f] };
    });
    expect((await gcError(badRet)).message).toMatch(/function 'h': its result 'o' is "missing:0", not a node or argument/);
    const badBody = variant((json) => {
      const f = fn('k');
      f.nodeDef[0]!.op = 'Switch';
      json.modelTopology.library = { function: [f] };
    });
    expect((await gcError(badBody)).message).toMatch(/function 'k': node 'r' is a Switch/);
    const unknownInBody = variant((json) => {
      const f = fn('u');
      f.nodeDef[0]!.op = 'FrobnicateV9';
      json.modelTopology.library = { function: [f] };
    });
    expect((await gcError(unknownInBody)).message).toMatch(/function 'u': node 'r' has op 'FrobnicateV9', which tfjs-converter does not know/);
    const init = variant((json) => {
      json.modelInitializer = { node: [{ name: 'table', op: 'HashTableV2' }] };
    });
    expect((await gcError(init)).message).toMatch(/initializer graph/);
  });

  it('a model.json that is not JSON is a CliError naming it', async () => {
    const dir = path.join(root, 'notjson');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.json'), '{"format": "graph-model", ');
    await expect(loadGraphModelTarget(path.join(dir, 'model.json'))).rejects.toThrow(CliError);
  });
});

describe('random damage to a valid GraphModel', () => {
  // Paths into the model.json object where damage goes, and values to put there.
  const junk = fc.oneof(fc.constant(null), fc.integer({ min: -3, max: 1e6 }), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant([]), fc.constant({}),
    fc.constant({ size: '-5' }), fc.constant({ list: { i: ['1e9'] } }), fc.constant({ b: 'yes' }), fc.constant({ s: '%%%' }), fc.constant({ type: 'DT_HALF' }));

  function leaves(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...at, i], out));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) leaves(x, [...at, k], out);
    return out;
  }

  it.each([['an MLP', mlp], ['an If with its function library', ifModel], ['a Keras Reshape (shape arithmetic on the host)', () => kerasReshape().builder]] as const)('of %s is a model that traces, or a GcError / CliError — never another error (generated)', async (_what, make) => {
    const base = make();
    const { json } = base.artifacts();
    const spots = leaves(json).filter((p) => p.length > 0 && p[0] !== 'weightsManifest');
    let failures = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(spots.length - 1), junk, fc.boolean()), { minLength: 1, maxLength: 3 }), async (edits) => {
      const file = variant((j) => {
        for (const [k, value, del] of edits) {
          const p = spots[k]!;
          let o: any = j;
          for (const key of p.slice(0, -1)) {
            if (typeof o !== 'object' || o === null) return;
            o = o[key];
          }
          if (typeof o !== 'object' || o === null) continue;
          if (del) delete o[p[p.length - 1]!];
          else o[p[p.length - 1]!] = value;
        }
      }, make());
      try {
        const t = await loadGraphModelTarget(file);
        traceFunction(t.fn, t.specs, materializeCreated, t.name);
      } catch (e) {
        failures++;
        if (!(e instanceof GcError) && !(e instanceof CliError)) throw e;
      }
    }), { numRuns: 150, seed: 1313 });
    expect(failures).toBeGreaterThan(20);
  }, 120_000);
});
