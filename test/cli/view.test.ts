/**
 * `graphc view` pages and `graphc inspect --dot`, on models graphc exports itself (the interop
 * suite's MLP and CNN, a function with gc.cond and gc.whileLoop) and on hand-made models (layer
 * groups from '/' names, a 1200-node graph, hostile names). The pages are opened in headless
 * chromium: the assertions read the DOM after the page's script drew the graph, and a
 * screenshot's pixels; without a chromium these tests are skipped, saying why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { onnx } from '../../exporters/onnx/proto.js';
import { renderGraphHtml, toDot } from '../../src/cli/view.js';
import { buildViewModel } from '../../src/cli/view_model.js';
import { interopModels } from '../exporters/onnx/interop_models.js';
import { colourCount, dumpDom, noBrowser, readPng, screenshot } from './view_browser.js';

await tf.setBackend('cpu');

const BROWSER_TIMEOUT = 400_000;
let dir = '';
beforeAll(() => { dir = mkdtempSync(path.join(tmpdir(), 'graphc-view-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

if (noBrowser) console.warn(noBrowser);

/** The line this is called from, in this file. */
function lineHere(): number {
  const at = (new Error().stack ?? '').split('\n')[2] ?? '';
  return Number(/view\.test\.ts:(\d+)/.exec(at)?.[1] ?? 0);
}

function exported(fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], inputs: gc.TensorSpec[]): onnx.ModelProto {
  return onnx.ModelProto.decode(gc.compile(fn, { inputs }).toOnnx());
}

function writePage(name: string, model: onnx.ModelProto, title?: string): string {
  const file = path.join(dir, `${name}.html`);
  writeFileSync(file, renderGraphHtml(model, title === undefined ? {} : { title }));
  return file;
}

// ---- reading the dumped DOM -------------------------------------------------------------------

const count = (html: string, re: RegExp): number => (html.match(re) ?? []).length;
/** The drawn node elements: <g class="gc-node …" data-i=… data-kind=…>. */
const drawnNodes = (dom: string): { kind: string; cls: string }[] =>
  [...dom.matchAll(/<g class="(gc-node[^"]*)" data-i="\d+" data-kind="(\w+)"/g)].map((m) => ({ cls: m[1]!, kind: m[2]! }));
/** The text of every <text> element, in order. */
const texts = (dom: string): string[] => [...dom.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
const bodyAttr = (dom: string, name: string): string | undefined => new RegExp(`<body[^>]*\\s${name}="([^"]*)"`).exec(dom)?.[1];

// ---- independent counts from the ModelProto ---------------------------------------------------

function graphCounts(g: onnx.IGraphProto): { nodes: number; io: number } {
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  let nodes = 0, io = (g.input ?? []).filter((v) => !inits.has(v.name)).length + (g.output ?? []).length;
  for (const n of g.node ?? []) {
    nodes++;
    for (const a of n.attribute ?? []) if (a.g) { const c = graphCounts(a.g); nodes += c.nodes; io += c.io; }
  }
  return { nodes, io };
}

function shapeOf(t: onnx.ITypeProto | null | undefined): string {
  const tt = t?.tensorType;
  const dims = (tt?.shape?.dim ?? []).map((d) => d.dimParam || String(d.dimValue));
  return `[${dims.join(',')}]`;
}

// ---- hand-made models -------------------------------------------------------------------------

const F = onnx.TensorProto.DataType.FLOAT;
const vi = (name: string, dims: (number | string)[]): onnx.IValueInfoProto => ({
  name, type: { tensorType: { elemType: F, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
const node = (opType: string, name: string, input: string[], output: string[], docString = ''): onnx.INodeProto => ({ opType, name, input, output, docString });

/** x → block1/conv/{Conv,Relu} → block1/pool → head/{MatMul,Add} → Softmax: groups block1 ⊃ block1/conv, and head. */
function groupedModel(): onnx.ModelProto {
  const w = { name: 'head/w', dims: [8, 4], dataType: F, floatData: new Array(32).fill(0.5) };
  return onnx.ModelProto.create({
    irVersion: 8, producerName: 'hand', opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'grouped',
      input: [vi('x', ['batch', 2, 4, 4])], output: [vi('y', ['batch', 4])],
      initializer: [w, { name: 'k', dims: [2, 2, 1, 1], dataType: F, floatData: [1, 0, 0, 1] }],
      valueInfo: [vi('c', ['batch', 2, 4, 4]), vi('r', ['batch', 2, 4, 4]), vi('p', ['batch', 8]), vi('m', ['batch', 4]), vi('a', ['batch', 4])],
      node: [
        node('Conv', 'block1/conv/Conv', ['x', 'k'], ['c'], 'model.ts:12:7'),
        node('Relu', 'block1/conv/Relu', ['c'], ['r'], 'at relu (src/model.ts:13:9)'),
        node('GlobalAveragePool', 'block1/pool', ['r'], ['p'], 'a pooling layer with no location'),
        node('MatMul', 'head/MatMul', ['p', 'head/w'], ['m']),
        node('Relu', 'head/Relu', ['m'], ['a']),
        node('Softmax', 'Softmax', ['a'], ['y']),
      ],
    },
  });
}

/** `groups` layers (net/layer_<g>/…, or no '/' when flat) of `per` chained nodes each, then an Identity: a graph too big to show unfolded. */
function bigModel(groups: number, per: number, flat = false): onnx.ModelProto {
  const nodes: onnx.INodeProto[] = [];
  let prev = 'x';
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < per; k++) {
      const out = `v${g}_${k}`;
      nodes.push(node(k % 2 ? 'Relu' : 'Sigmoid', flat ? `op_${g}_${k}` : `net/layer_${g}/op_${k}`, [prev], [out]));
      prev = out;
    }
  }
  nodes.push(node('Identity', 'out', [prev], ['y']));
  return onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'big', input: [vi('x', [1, 4])], output: [vi('y', [1, 4])], node: nodes },
  });
}

const HOSTILE = [
  '</script><script>document.title="pwned-script"</script>',
  '<img src=x onerror="document.title=\'pwned-img\'">',
  '"><svg onload="document.title=\'pwned-svg\'">',
  'back\\slash "quote" \n newline {brace} ;semi -> arrow',
];

/** Every name, op type, doc string and the graph's name is hostile text. */
function hostileModel(): onnx.ModelProto {
  const [a, b, c, d] = HOSTILE as [string, string, string, string];
  return onnx.ModelProto.create({
    irVersion: 8, producerName: a, opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: d,
      input: [vi(a, [1, 2])], output: [vi(c, [1, 2])],
      valueInfo: [vi(b, [1, 2])],
      node: [
        node('Relu', `${b}/first`, [a], [b], `${c} ${a}`),
        node(`<b>${b}</b>`, `${b}/second`, [b], [d]),
        node('Identity', d, [d], [c], d),
      ],
    },
  });
}

/** a1 → a2 → a3 with a1, a3 in group g and a2 in group h: folded, g → h → g is a cycle. */
function cycleWhenFolded(): onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'cycle', input: [vi('x', [2])], output: [vi('y', [2])],
      node: [node('Relu', 'g/a1', ['x'], ['v1']), node('Neg', 'h/a2', ['v1'], ['v2']), node('Relu', 'h/a2b', ['v2'], ['v3']), node('Abs', 'g/a3', ['v3'], ['y'])],
    },
  });
}

/** If nested `depth` deep (each then_branch holds the next If), with empty, duplicate and 20 kB names. */
function deepModel(depth: number): onnx.ModelProto {
  const bool = onnx.TensorProto.DataType.BOOL;
  let inner: onnx.IGraphProto = { name: 'leaf', node: [node('Identity', '', ['x'], ['r0'])], output: [vi('r0', [2])] };
  for (let d = 1; d < depth; d++) {
    const branch = { name: `b${d}`, node: [node('Identity', 'dup', ['x'], [`e${d}`])], output: [vi(`e${d}`, [2])] };
    inner = {
      name: `g${d}`, output: [vi(`r${d}`, [2])],
      node: [{ opType: 'If', name: d % 2 ? 'dup' : 'x'.repeat(20_000), input: ['c'], output: [`r${d}`], attribute: [
        { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: inner },
        { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch },
      ] }],
    };
  }
  return onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'deep', input: [vi('x', [2]), { name: 'c', type: { tensorType: { elemType: bool, shape: { dim: [] } } } }], output: inner.output!, node: inner.node! },
  });
}

// ---- the page --------------------------------------------------------------------------------

describe('graphc view: the HTML page', () => {
  it('is one self-contained file: no external URL, one data block and one script, names only as escaped data', () => {
    const html = renderGraphHtml(hostileModel(), { title: HOSTILE[0] });
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(count(html, /<script\b/gi)).toBe(2);
    expect(count(html, /<\/script/gi)).toBe(2);
    expect(html).toContain("default-src 'none'");
    // the hostile strings are nowhere in the file as markup
    for (const h of HOSTILE.slice(0, 3)) expect(html).not.toContain(h);
    expect(count(html, /<img/gi)).toBe(0);
  });

  it('a model 200 Ifs deep: the page and the DOT are made, subgraphs past 64 levels left out (the nesting the importer allows)', () => {
    const model = deepModel(200);
    const html = renderGraphHtml(model);
    const data = JSON.parse(/<script type="application\/json" id="gc-data">(.*?)<\/script>/s.exec(html)![1]!) as { items: { k: string; p: number }[] };
    let deepest = 0;
    data.items.forEach((it, i) => {
      let d = 0;
      for (let q = it.p; q >= 0; q = data.items[q]!.p) if (data.items[q]!.k === 'sub') d++;
      deepest = Math.max(deepest, d);
      expect(it.p).toBeLessThan(i); // a parent before its children
    });
    expect(deepest).toBe(64);
    const dot = parseDot(toDot(model));
    expect(dotNodes(dot.body).clusters.length).toBe(2 * 64);
  });

  it.skipIf(noBrowser !== undefined)('folded groups that feed each other (g → h → g) are drawn with the cycle broken; a 64-deep nest of Ifs opens with #expand=all, its 20 kB names cut in the drawing', async () => {
    const dom = await dumpDom(writePage('cycle', cycleWhenFolded()), 'expand=none');
    expect(bodyAttr(dom, 'data-ready')).toBe('1');
    expect(drawnNodes(dom).map((n) => n.kind).sort()).toEqual(['grp', 'grp', 'in', 'out']);
    expect(bodyAttr(dom, 'data-edges')).toBe('4'); // x → g, g → h, h → g, g → y
    expect(count(dom, /class="gc-edge gc-back"/g)).toBe(1);
    const deep = await dumpDom(writePage('deep', deepModel(200)), 'expand=all');
    expect(bodyAttr(deep, 'data-ready')).toBe('1');
    expect(bodyAttr(deep, 'data-clusters')).toBe(String(2 * 64));
    // names are cut in the drawing (nodes 34 characters, box labels 60 and their count)
    expect(Math.max(...texts(deep).map((t) => t.length))).toBeLessThanOrEqual(80);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('a hostile model\'s names render as text in chromium: no script, handler or element of theirs runs', async () => {
    const file = writePage('hostile', hostileModel(), HOSTILE[0]);
    const dom = await dumpDom(file, 'expand=all');
    expect(bodyAttr(dom, 'data-ready')).toBe('1');
    // document.title is the escaped first name, not what an injected script or handler would set
    expect(dom).not.toMatch(/<title>pwned-/);
    expect(count(dom, /<img/gi)).toBe(0);
    expect(count(dom, /<script\b/gi)).toBe(2);
    expect(count(dom, /<[a-z]+\b[^>]*\son(?:error|load)=/gi)).toBe(0);
    // the names are there, as text: the title element holds the escaped first one
    expect(dom).toContain('<title>&lt;/script&gt;&lt;script&gt;document.title="pwned-script"&lt;/script&gt;</title>');
    const t = texts(dom).join('\n');
    expect(t).toContain('&lt;b&gt;');
    // 3 nodes, 1 input, 1 output, nothing folded (expand=all)
    expect(drawnNodes(dom)).toHaveLength(5);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('layer groups: drawn open (small graph), folded by #expand=none, one level opened by #expand=block1', async () => {
    const model = groupedModel();
    const file = writePage('grouped', model);
    const open = await dumpDom(file);
    expect(bodyAttr(open, 'data-ready')).toBe('1');
    // 6 nodes + x + y, boxes for block1, block1/conv and head
    expect(drawnNodes(open).map((n) => n.kind).sort()).toEqual(['in', 'op', 'op', 'op', 'op', 'op', 'op', 'out']);
    expect(count(open, /<g class="gc-cluster[^"]*" data-i=/g)).toBe(3);
    // hovering an edge names its value and type
    expect(open).toMatch(/<path [^>]*class="gc-edge"[^>]*><title>c: float32\[batch,2,4,4\]<\/title><\/path>/);
    const t = texts(open);
    for (const s of ['Conv', 'GlobalAveragePool', 'MatMul', 'Softmax', 'float32[batch,2,4,4]', 'float32[batch,4]', 'model.ts:12', 'model.ts:13']) expect(t).toContain(s);
    // the sidebar: the initializers with shape, dtype and bytes, largest first
    expect(open).toMatch(/<td[^>]*>head\/w<\/td><td[^>]*>float32\[8,4\] · 128 bytes<\/td>.*<td[^>]*>k<\/td><td[^>]*>float32\[2,2,1,1\] · 16 bytes/s);

    const folded = await dumpDom(file, 'expand=none');
    const f = drawnNodes(folded);
    expect(f.map((n) => n.kind).sort()).toEqual(['grp', 'grp', 'in', 'op', 'out']);
    expect(count(folded, /<g class="gc-cluster/g)).toBe(0);
    const ft = texts(folded);
    expect(ft).toContain('▸ block1');
    expect(ft).toContain('3 nodes · 4 params');
    expect(ft).toContain('▸ head');
    expect(ft).toContain('2 nodes · 32 params');
    // a folded group shows the type of what leaves it: block1's pool output p, head's a
    expect(ft.filter((s) => s === 'float32[batch,8]')).toHaveLength(1);
    expect(ft.filter((s) => s === 'float32[batch,4]').length).toBeGreaterThanOrEqual(2); // head, Softmax (and y)
    expect(ft).not.toContain('Conv');

    const one = await dumpDom(file, 'expand=block1');
    // block1 open: its conv subgroup folded and its pool node; head folded
    expect(drawnNodes(one).map((n) => n.kind).sort()).toEqual(['grp', 'grp', 'in', 'op', 'op', 'out']);
    expect(count(one, /<g class="gc-cluster/g)).toBe(1);
    expect(texts(one)).toContain('▸ conv');

    // search and details: 'relu' marks head/Relu and the folded block1 that holds one; the selected
    // MatMul's details list its initializer input with shape, dtype and bytes
    const found = await dumpDom(file, 'q=relu&expand=none&select=head/MatMul');
    const cls = [...found.matchAll(/<g class="([^"]*)" data-i="\d+" data-kind="\w+"[^>]*>.*?<text[^>]*>([^<]*)<\/text>/g)].map((m) => [m[2], m[1]]);
    expect(cls).toContainEqual(['▸ block1', 'gc-node gc-grp gc-inside']);
    expect(cls).toContainEqual(['Relu', 'gc-node gc-op gc-match']);
    expect(cls).toContainEqual(['MatMul', 'gc-node gc-op gc-sel']);
    expect(found).toMatch(/<h2>Selected node<\/h2>.*<td>name<\/td><td class="gc-mono">head\/MatMul<\/td>/s);
    expect(found).toContain('head/w: float32[8,4]  [initializer float32[8,4], 128 bytes]');
    expect(found).toMatch(/id="gc-status">[^<]*2 matches \(1 in folded groups: Enter\)/);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('clicks: a folded group opens, its box label folds it, search + Enter opens the group of the match and selects it, + zooms, fit fits, Escape clears the search', async () => {
    // The page with a script of clicks after its own (its CSP, which would refuse that script, taken out).
    const clicks = `<script>(function () {
      var log = [], nodes = function () { return Array.prototype.slice.call(document.querySelectorAll('#gc-nodes .gc-node')); };
      var click = function (e) { e.dispatchEvent(new MouseEvent('click', { bubbles: true })); };
      log.push(nodes().length);
      click(nodes().filter(function (n) { return n.textContent.indexOf('▸ block1') === 0; })[0].querySelector('rect'));
      log.push(nodes().length);
      click(Array.prototype.slice.call(document.querySelectorAll('#gc-clusters text')).filter(function (t) { return t.textContent.indexOf('▾ block1') === 0; })[0]);
      log.push(nodes().length);
      var s = document.getElementById('gc-search');
      s.value = 'globalaverage'; s.dispatchEvent(new Event('input'));
      s.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
      log.push(nodes().length, document.querySelector('#gc-nodes .gc-sel').textContent.slice(0, 17));
      var svg = document.getElementById('gc-svg'), w = Number(svg.viewBox.baseVal.width);
      document.getElementById('gc-zin').click();
      log.push(Number(document.getElementById('gc-svg').getAttribute('width')) / w);
      document.getElementById('gc-fit').click();
      var canvas = document.getElementById('gc-canvas'), fitted = document.getElementById('gc-svg');
      log.push(Number(fitted.getAttribute('width')) <= canvas.clientWidth && Number(fitted.getAttribute('height')) <= canvas.clientHeight);
      s.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
      log.push(s.value, document.querySelectorAll('#gc-nodes .gc-match').length);
      document.body.setAttribute('data-log', JSON.stringify(log));
    })();</script>`;
    const html = renderGraphHtml(groupedModel()).replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `${clicks}</body>`);
    const file = path.join(dir, 'clicks.html');
    writeFileSync(file, html);
    const dom = await dumpDom(file, 'expand=none');
    expect(bodyAttr(dom, 'data-ready')).toBe('1');
    // x, block1, head, Softmax, y → block1 open (its conv folded, pool) → folded → opened by the search
    expect(JSON.parse((bodyAttr(dom, 'data-log') ?? 'null').replace(/&quot;/g, '"'))).toEqual([5, 6, 5, 6, 'GlobalAveragePool', 1.25, true, '', 0]);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('graphc\'s own exports: the MLP and CNN of the interop suite, every node with its op and output shape, and a screenshot that is a drawing', async () => {
    const [mlpCase, cnnCase] = interopModels() as [typeof interopModels extends () => (infer C)[] ? C : never, typeof interopModels extends () => (infer C)[] ? C : never];
    const mlp = exported(mlpCase.fn, mlpCase.shapes.map((s) => gc.spec(['batch', ...s])));
    const cnn = exported(cnnCase.fn, cnnCase.shapes.map((s) => gc.spec(['batch', ...s])));
    for (const [name, model] of [['mlp', mlp], ['cnn', cnn]] as const) {
      const file = writePage(name, model);
      const dom = await dumpDom(file, 'expand=all');
      expect(bodyAttr(dom, 'data-ready'), name).toBe('1');
      const g = model.graph as onnx.GraphProto;
      const c = graphCounts(g);
      const drawn = drawnNodes(dom);
      expect(drawn.filter((n) => n.kind === 'op'), name).toHaveLength(c.nodes);
      expect(drawn, name).toHaveLength(c.nodes + c.io);
      const t = texts(dom);
      for (const n of g.node) expect(t, `${name}: ${n.opType}`).toContain(n.opType);
      for (const o of g.output) expect(t.join('\n'), name).toContain(shapeOf(o.type).replace(/^\[/, 'float32['));
      // every node's source line (its doc string names where the model was called)
      const src = /([\w.-]+\.ts):(\d+)/.exec(g.node[0]!.docString ?? '');
      if (src) expect(t).toContain(`${src[1]}:${src[2]}`);
      // the largest initializer's size in the sidebar
      const size = (t: onnx.ITensorProto): number => (t.dims ?? []).reduce((x: number, y) => x * Number(y), 1);
      const big = [...g.initializer].sort((a, b) => size(b) - size(a))[0]!;
      expect(dom).toContain(`float32[${(big.dims ?? []).join(',')}] · ${size(big) * 4} bytes`);
    }
    // MLP: [784,300] float32 weights are 940800 bytes
    expect((mlp.graph as onnx.GraphProto).initializer.some((t) => (t.dims ?? []).map(Number).join(',') === '784,300')).toBe(true);

    const png = path.join(dir, 'cnn.png');
    await screenshot(writePage('cnn-shot', cnn), png);
    expect(existsSync(png)).toBe(true);
    const img = readPng(png);
    expect([img.width, img.height]).toEqual([1200, 900]);
    // boxes, text, edges in several colours: far more than a blank or one-colour page
    expect(colourCount(img)).toBeGreaterThan(50);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('control flow: If and Loop are drawn folded with their subgraphs; #expand=all draws every node of the subgraphs', async () => {
    const line = lineHere() + 2;
    const model = exported((x: tf.Tensor) => {
      const y = gc.cond(tf.sum(x).greater(0), () => tf.relu(x), () => tf.neg(x));
      const [, z] = gc.whileLoop((i: tf.Tensor) => i.less(tf.scalar(5, 'int32')), (i: tf.Tensor, v: tf.Tensor) => [i.add(tf.scalar(1, 'int32')), v.mul(2)], [tf.scalar(0, 'int32'), y]);
      return z!;
    }, [gc.spec([3])]);
    const g = model.graph as onnx.GraphProto;
    const ops = g.node.map((n) => n.opType);
    expect(ops).toContain('If');
    expect(ops).toContain('Loop');
    const file = writePage('control_flow', model);
    const folded = await dumpDom(file);
    expect(bodyAttr(folded, 'data-ready')).toBe('1');
    const top = g.input.length + g.output.length + g.node.length;
    expect(drawnNodes(folded)).toHaveLength(top);
    expect(drawnNodes(folded).filter((n) => n.cls.includes('gc-cf'))).toHaveLength(2);
    const t = texts(folded);
    expect(t).toContain('▸ If');
    expect(t).toContain('▸ Loop');
    // each control-flow node says what it holds
    for (const n of g.node.filter((x) => x.opType === 'If' || x.opType === 'Loop')) {
      const graphs = (n as onnx.NodeProto).attribute.filter((a) => a.g).map((a) => graphCounts(a.g!).nodes);
      expect(t).toContain(`${graphs.length} subgraph${graphs.length === 1 ? '' : 's'} · ${graphs.reduce((a, b) => a + b, 0)} nodes`);
    }
    expect(t.some((s) => s.startsWith('view.test.ts:') && Math.abs(Number(s.split(':')[1]) - line) <= 2)).toBe(true);

    const all = await dumpDom(file, 'expand=all');
    const c = graphCounts(g);
    const subs = g.node.reduce((a, n) => a + (n as onnx.NodeProto).attribute.filter((x) => x.g).length, 0);
    expect(subs).toBe(3); // then_branch, else_branch, body
    expect(drawnNodes(all).filter((n) => n.kind === 'op')).toHaveLength(c.nodes);
    expect(drawnNodes(all)).toHaveLength(c.nodes + c.io);
    expect(count(all, /<g class="gc-cluster gc-subc" data-i=/g)).toBe(subs);
    expect(texts(all)).toContain('▾ If');
    const body = (g.node.find((n) => n.opType === 'Loop') as onnx.NodeProto).attribute.find((a) => a.name === 'body')!.g as onnx.GraphProto;
    for (const n of body.node) expect(texts(all)).toContain(n.opType);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('a 1200-node graph opens folded, group by group while at most 300 nodes are drawn, and unfolds with #expand=all', async () => {
    const file = writePage('big', bigModel(12, 100));
    const folded = await dumpDom(file);
    expect(bodyAttr(folded, 'data-ready')).toBe('1');
    const f = drawnNodes(folded);
    // x, y, the last Identity, group net (open: 12 layers fit), then layer_0 and layer_1 open (100 nodes each);
    // a third would draw 312 nodes
    expect(f.filter((n) => n.kind === 'grp')).toHaveLength(10);
    expect(f.filter((n) => n.kind === 'op')).toHaveLength(201);
    expect(f).toHaveLength(10 + 201 + 2);
    expect(bodyAttr(folded, 'data-clusters')).toBe('3');
    // the chain: x → 200 nodes → 10 folded groups → Identity → y
    expect(bodyAttr(folded, 'data-edges')).toBe(String(1 + 199 + 1 + 9 + 1 + 1));
    expect(texts(folded)).toContain('▸ layer_11');
    const all = await dumpDom(file, 'expand=all');
    expect(drawnNodes(all)).toHaveLength(1201 + 2);
    expect(bodyAttr(all, 'data-edges')).toBe('1202');
    expect(bodyAttr(all, 'data-clusters')).toBe('13');
    const none = await dumpDom(file, 'expand=none');
    expect(drawnNodes(none)).toHaveLength(4);
  }, BROWSER_TIMEOUT);

  it.skipIf(noBrowser !== undefined)('a 1001-node graph without \'/\' names folds in runs of 100 nodes, in order', async () => {
    const file = writePage('flat', bigModel(10, 100, true));
    const dom = await dumpDom(file);
    expect(bodyAttr(dom, 'data-ready')).toBe('1');
    const d = drawnNodes(dom);
    // 11 runs (the last holds only the Identity): the first two open (x, y, 9 runs and 200 nodes drawn: a
    // third would make 309), the others stay folded but the last, which opening does not make bigger
    expect(d.filter((n) => n.kind === 'grp')).toHaveLength(8);
    expect(d.filter((n) => n.kind === 'op')).toHaveLength(201);
    expect(bodyAttr(dom, 'data-clusters')).toBe('3');
    const t = texts(dom);
    expect(t).toContain('▾ nodes 1–100 (100 nodes)');
    expect(t).toContain('▸ nodes 301–400');
    expect(t).toContain('▾ nodes 1001–1001 (1 node)');
  }, BROWSER_TIMEOUT);
});

describe('the view model: who makes each value a subgraph reads', () => {
  it('an outer value is captured by name; an initializer of the subgraph hides an outer value of its name', () => {
    const g = (node: onnx.INodeProto[], init: onnx.ITensorProto[] = []): onnx.IGraphProto => ({ name: 'b', node, initializer: init, output: [vi('o', [2])] });
    const model = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'scopes', input: [vi('x', [2]), vi('c', [])], output: [vi('y', [2])],
        node: [
          node('Relu', 'r', ['x'], ['v']),
          { opType: 'If', name: 'if', input: ['c'], output: ['y'], attribute: [
            { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: g([node('Add', 'captures', ['v', 'x'], ['o'])]) },
            { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: g([node('Neg', 'own', ['v'], ['o'])], [{ name: 'v', dims: [2], dataType: F, floatData: [1, 2] }]) },
          ] },
        ],
      },
    });
    const vm = buildViewModel(model);
    const at = (name: string) => vm.items.findIndex((it) => it.name === name);
    const from = (name: string) => vm.edges.filter((e) => e[1] === at(name) && e[3] !== 1).map((e) => `${vm.items[e[0]]!.name}:${e[2]}`).sort();
    expect(from('captures')).toEqual(['r:v', 'x:x']);
    expect(from('own')).toEqual([]);
    expect(vm.items[at('own')]!.ins![0]!.i).toBe('float32[2], 8 bytes');
    // the If's dashed edges into each branch's first node
    expect(vm.edges.filter((e) => e[0] === at('if') && e[3] === 1).map((e) => vm.items[e[1]]!.name).sort()).toEqual(['captures', 'own']);
  });
});

// ---- DOT ---------------------------------------------------------------------------------------

type DotStmt =
  | { kind: 'node'; id: string; attrs: Record<string, string> }
  | { kind: 'edge'; from: string; to: string; attrs: Record<string, string> }
  | { kind: 'subgraph'; id: string; body: DotStmt[] }
  | { kind: 'attr'; target: string; attrs: Record<string, string> }
  | { kind: 'set'; key: string; value: string };

/**
 * A parser for the DOT that toDot writes (Graphviz's grammar: IDs are quoted strings or
 * alphanumeric words; statements node, edge, attr, subgraph and a=b), returning the unescaped
 * strings; it throws on anything else, so a bad escape or an unbalanced brace fails the test.
 */
function parseDot(src: string): { id: string; body: DotStmt[] } {
  const toks: { t: 'id' | 'p'; v: string }[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error('unterminated string');
        const d = src[i]!;
        if (d === '"') { i++; break; }
        if (d === '\n') throw new Error(`raw newline in a string at ${i}`);
        if (d === '\\') {
          const e = src[i + 1];
          if (e === '"') v += '"';
          else if (e === '\\') v += '\\';
          else if (e === 'n') v += '\n';
          else throw new Error(`unknown escape \\${e} at ${i}`);
          i += 2;
          continue;
        }
        v += d; i++;
      }
      toks.push({ t: 'id', v });
      continue;
    }
    if (src.startsWith('->', i)) { toks.push({ t: 'p', v: '->' }); i += 2; continue; }
    if ('{}[];,='.includes(c)) { toks.push({ t: 'p', v: c }); i++; continue; }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^-?(?:\.\d+|\d+(?:\.\d*)?)/.exec(src.slice(i));
    if (!m) throw new Error(`unexpected '${c}' at ${i}`);
    toks.push({ t: 'id', v: m[0] });
    i += m[0].length;
  }
  let k = 0;
  const peek = () => toks[k];
  const take = (v?: string): string => {
    const t = toks[k++];
    if (!t) throw new Error('unexpected end');
    if (v !== undefined && t.v !== v) throw new Error(`expected '${v}', got '${t.v}'`);
    if (v === undefined && t.t !== 'id') throw new Error(`expected an id, got '${t.v}'`);
    return t.v;
  };
  const attrList = (): Record<string, string> => {
    const a: Record<string, string> = {};
    take('[');
    while (peek()?.v !== ']') {
      const key = take(); take('='); a[key] = take();
      if (peek()?.v === ',' || peek()?.v === ';') k++;
    }
    take(']');
    return a;
  };
  const stmts = (): DotStmt[] => {
    const out: DotStmt[] = [];
    take('{');
    while (peek()?.v !== '}') {
      const t = peek();
      if (!t) throw new Error('unexpected end');
      if (t.t === 'id' && t.v === 'subgraph') {
        k++;
        const id = take();
        out.push({ kind: 'subgraph', id, body: stmts() });
      } else if (t.t === 'id' && ['graph', 'node', 'edge'].includes(t.v) && toks[k + 1]?.v === '[') {
        k++;
        out.push({ kind: 'attr', target: t.v, attrs: attrList() });
      } else {
        const id = take();
        if (peek()?.v === '=') { k++; out.push({ kind: 'set', key: id, value: take() }); }
        else if (peek()?.v === '->') { k++; const to = take(); out.push({ kind: 'edge', from: id, to, attrs: peek()?.v === '[' ? attrList() : {} }); }
        else out.push({ kind: 'node', id, attrs: peek()?.v === '[' ? attrList() : {} });
      }
      if (peek()?.v === ';') k++;
    }
    take('}');
    return out;
  };
  take('digraph');
  const id = take();
  const body = stmts();
  if (k !== toks.length) throw new Error('text after the graph');
  return { id, body };
}

function dotNodes(body: DotStmt[], out = new Map<string, Record<string, string>>(), clusters: string[] = []): { nodes: Map<string, Record<string, string>>; edges: DotStmt[]; clusters: string[] } {
  const edges: DotStmt[] = [];
  for (const s of body) {
    if (s.kind === 'node') out.set(s.id, s.attrs);
    if (s.kind === 'edge') edges.push(s);
    if (s.kind === 'subgraph') {
      const label = s.body.find((x): x is Extract<DotStmt, { kind: 'set' }> => x.kind === 'set' && x.key === 'label');
      clusters.push(label?.value ?? s.id);
      edges.push(...dotNodes(s.body, out, clusters).edges);
    }
  }
  return { nodes: out, edges, clusters };
}

describe('graphc inspect --dot', () => {
  it('the grouped model: a node per ONNX node, input and output, a cluster per layer group, edges between declared nodes', () => {
    const dot = toDot(groupedModel());
    const g = parseDot(dot);
    expect(g.id).toBe('grouped');
    const { nodes, edges, clusters } = dotNodes(g.body);
    expect(nodes.size).toBe(8);
    expect(clusters.sort()).toEqual(['block1 (3 nodes)', 'block1/conv (2 nodes)', 'head (2 nodes)']);
    for (const e of edges) if (e.kind === 'edge') { expect(nodes.has(e.from)).toBe(true); expect(nodes.has(e.to)).toBe(true); }
    expect(edges).toHaveLength(7);
    const labels = [...nodes.values()].map((a) => a.label);
    expect(labels).toContain('Conv\nblock1/conv/Conv\nfloat32[batch,2,4,4]\nmodel.ts:12:7');
    expect(labels).toContain('Input\nx\nfloat32[batch,2,4,4]');
    // block1/conv sits inside block1
    expect(dot).toMatch(/subgraph "cluster_\d+" \{\n\s+label="block1 \(3 nodes\)";[^]*?\n\s+subgraph "cluster_\d+" \{\n\s+label="block1\/conv/);
  });

  it.skipIf(!existsSync('/usr/bin/dot'))('Graphviz reads every DOT written here (skipped without /usr/bin/dot: the parser above checks them)', () => {
    for (const model of [groupedModel(), hostileModel(), deepModel(70), cycleWhenFolded()]) {
      const r = spawnSync('/usr/bin/dot', ['-Tsvg'], { input: toDot(model), encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('<svg');
    }
  });

  it('hostile names come back unchanged from the parsed DOT (quotes, backslashes, newlines, braces, arrows)', () => {
    const dot = toDot(hostileModel());
    const g = parseDot(dot);
    expect(g.id).toBe(HOSTILE[3]);
    const { nodes, edges } = dotNodes(g.body);
    expect(nodes.size).toBe(5);
    const labels = [...nodes.values()].map((a) => a.label ?? '');
    expect(labels.find((l) => l.startsWith('Identity'))).toBe(`Identity\n${HOSTILE[3]}\n${'float32[1,2]'}`);
    expect(labels).toContain(`Input\n${HOSTILE[0]}\nfloat32[1,2]`);
    expect(labels.some((l) => l.startsWith(`<b>${HOSTILE[1]}</b>`))).toBe(true);
    expect(edges).toHaveLength(4);
  });

  it('control flow: the subgraphs of If and Loop are clusters beside their node, entered by dashed edges', () => {
    const model = exported((x: tf.Tensor) => gc.cond(tf.sum(x).greater(0), () => tf.relu(x), () => tf.neg(x)), [gc.spec([3])]);
    const { nodes, edges, clusters } = dotNodes(parseDot(toDot(model)).body);
    expect(clusters.filter((c) => /\.(then|else)_branch \(\d+ nodes\)$/.test(c))).toHaveLength(2);
    expect(nodes.size).toBe(graphCounts(model.graph!).nodes + graphCounts(model.graph!).io);
    expect(edges.filter((e) => e.kind === 'edge' && e.attrs.style === 'dashed').length).toBeGreaterThanOrEqual(2);
  });
});
