/**
 * Pictures of an ONNX model: `graphc view` (a self-contained HTML page: inline SVG, style and
 * script, nothing fetched, usable from file://) and `graphc inspect --dot` (Graphviz DOT).
 * Both read the model through buildViewModel (view_model.ts): nodes with op, name, output
 * types, source file:line and initializer sizes; graph inputs and outputs; layer groups from
 * '/' name prefixes; If/Loop/Scan subgraphs inside their node.
 *
 * A model's names are untrusted text: in the page they travel as JSON inside a script block
 * with '<', '>' and '&' escaped, and the script puts them in the DOM as text only; a
 * Content-Security-Policy allows only the page's own script (by hash) and no network. In DOT
 * every name is a quoted, escaped string and node ids are generated (`n12`).
 */
import { createHash } from 'node:crypto';
import type { onnx } from '../../exporters/onnx/proto.js';
import { buildViewModel } from './view_model.js';
import type { ViewItem, ViewModel } from './view_model.js';
import { VIEW_CSS, VIEW_SCRIPT } from './view_page.js';

/** `s` as HTML text (element content or a double-quoted attribute value). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> block: no '<', '>', '&', U+2028 or U+2029 appear as themselves. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/** The page for a model; `opts.title` (default: the graph's name) heads it. */
export function renderGraphHtml(model: onnx.ModelProto, opts: { title?: string } = {}): string {
  const vm = buildViewModel(model, { chunk: 100 });
  const title = opts.title ?? (model.graph?.name || 'ONNX model');
  const data = scriptJson({ ...vm });
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${sha256(VIEW_SCRIPT)}'; img-src data:`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="graphc view">
<title>${escapeHtml(title)}</title>
<style>${VIEW_CSS}</style>
</head>
<body>
<div id="gc-top"><h1>${escapeHtml(title)}</h1><input id="gc-search" type="search" placeholder="search op, name, file:line (Enter: next)" aria-label="search"><button id="gc-expand" type="button">expand all</button><button id="gc-fold" type="button">fold all</button><button id="gc-zout" type="button" aria-label="zoom out">&#8722;</button><button id="gc-zin" type="button" aria-label="zoom in">+</button><button id="gc-fit" type="button">fit</button><span id="gc-status">graphc view needs JavaScript to draw the graph</span></div>
<div id="gc-main"><div id="gc-canvas"><div id="gc-error"></div></div><div id="gc-side"><div id="gc-details"></div><div id="gc-model"></div></div></div>
<script type="application/json" id="gc-data">${data}</script>
<script>${VIEW_SCRIPT}</script>
</body>
</html>
`;
}

/** `s` as a DOT quoted string: backslashes and quotes escaped, line breaks as `\n`, other control characters as spaces. */
export function dotString(s: string): string {
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, '\\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${body}"`;
}

function dotLabel(it: ViewItem): string {
  const lines: string[] = [];
  if (it.k === 'in' || it.k === 'out') {
    const v = it.k === 'in' ? it.outs?.[0] : it.ins?.[0];
    lines.push(it.op, it.name);
    if (v?.t) lines.push(v.t);
  } else {
    lines.push(it.op);
    if (it.name && it.name !== it.op) lines.push(it.name);
    const outs = it.outs ?? [];
    if (outs.length) lines.push(outs.map((o) => o.t || '?').join(', '));
    if (it.src) lines.push(it.src);
  }
  return dotString(lines.join('\n'));
}

/** The model as a Graphviz digraph: a node per ONNX node and graph input/output, a cluster per layer group and per subgraph. */
export function toDot(model: onnx.ModelProto): string {
  const vm: ViewModel = buildViewModel(model);
  const { items } = vm;
  const children: number[][] = items.map(() => []);
  const top: number[] = [];
  items.forEach((it, i) => (it.p >= 0 ? children[it.p]! : top).push(i));
  const out: string[] = [];
  out.push(`digraph ${dotString(model.graph?.name || 'model')} {`);
  out.push('  graph [rankdir=TB, fontname="Helvetica", fontsize=11, compound=true];');
  out.push('  node [shape=box, style="rounded,filled", fillcolor="#eef4ff", color="#5b7fc7", fontname="Helvetica", fontsize=10];');
  out.push('  edge [color="#8d96a8", arrowsize=0.7];');
  const emit = (list: number[], indent: string): void => {
    for (const i of list) {
      const it = items[i]!;
      if (it.k === 'grp' || it.k === 'sub') {
        out.push(`${indent}subgraph "cluster_${i}" {`);
        const label = it.k === 'sub' ? `${it.name} (${it.count ?? 0} nodes)` : `${it.name} (${it.count ?? 0} nodes)`;
        out.push(`${indent}  label=${dotString(label)}; style="rounded,dashed"; color=${it.k === 'sub' ? '"#c78a1c"' : '"#7d5bc7"'};`);
        emit(children[i]!, `${indent}  `);
        out.push(`${indent}}`);
        continue;
      }
      const extra = it.k === 'in' || it.k === 'out' ? ', shape=ellipse, fillcolor="#e9f7ee", color="#3a9a5b"'
        : children[i]!.length ? ', fillcolor="#fff4e0", color="#c78a1c"' : '';
      out.push(`${indent}"n${i}" [label=${dotLabel(it)}${extra}];`);
      // a control-flow node's subgraphs sit beside it, in the same cluster
      if (children[i]!.length) emit(children[i]!, indent);
    }
  };
  emit(top, '  ');
  const seen = new Set<string>();
  for (const [a, b, name, dashed] of vm.edges) {
    const key = `${a} ${b} ${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const attrs = dashed ? ' [style=dashed, color="#c78a1c"]' : name ? ` [tooltip=${dotString(name)}]` : '';
    out.push(`  "n${a}" -> "n${b}"${attrs};`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
