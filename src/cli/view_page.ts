/**
 * The style and script of the page `graphc view` writes. The script is plain browser JavaScript
 * (kept as text here: the page holds it inline, nothing is fetched) that reads the graph from the
 * page's JSON block and draws it as SVG:
 *
 * - what is drawn: every item whose ancestors are all expanded; a folded layer group or
 *   subgraph is one node, an expanded one a box around its members;
 * - layout: a layered DAG — longest-path layers (a node with no inputs moves down next to its
 *   first consumer), a virtual node on each layer a long edge crosses (so edges go around
 *   nodes, not through them), barycentric ordering sweeps that keep each group's members
 *   together, then x by the mean of each node's neighbours; cycles (possible between folded
 *   groups) are broken in node order;
 * - names reach the DOM only as textContent and attribute values, never as markup.
 *
 * The URL hash sets the first state: `#expand=all`, `#expand=none`, `#expand=dense_1,block/conv`
 * (only those groups, subgraphs or control-flow nodes and their parents open), `#select=<node name>`, `#q=<search>`.
 */

export const VIEW_CSS = String.raw`
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7f9}
#gc-top{display:flex;gap:8px;align-items:center;padding:6px 10px;background:#fff;border-bottom:1px solid #d9dde5;height:42px}
#gc-top h1{font-size:15px;margin:0 12px 0 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:40vw}
#gc-top input{width:260px;padding:4px 6px;border:1px solid #c3c9d4;border-radius:4px}
#gc-top button{padding:3px 8px;border:1px solid #c3c9d4;background:#fff;border-radius:4px;cursor:pointer}
#gc-status{color:#5b6475;margin-left:auto;white-space:nowrap}
#gc-main{display:flex;height:calc(100% - 42px)}
#gc-canvas{flex:1;overflow:auto;position:relative;background:#f6f7f9}
#gc-side{width:360px;overflow:auto;border-left:1px solid #d9dde5;background:#fff;padding:8px 10px}
#gc-side h2{font-size:13px;margin:12px 0 4px;color:#394256}
#gc-side table{border-collapse:collapse;width:100%;table-layout:fixed}
#gc-side td{border-top:1px solid #eceef2;padding:2px 4px;vertical-align:top;overflow-wrap:anywhere}
#gc-side td:first-child{color:#5b6475;width:40%}
.gc-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
svg text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;fill:#1d2330}
.gc-node{cursor:pointer}
.gc-node rect{fill:#fff;stroke:#7b8799;stroke-width:1}
.gc-op rect{fill:#eef4ff;stroke:#5b7fc7}
.gc-cf rect{fill:#fff4e0;stroke:#c78a1c;stroke-width:1.5}
.gc-in rect,.gc-out rect{fill:#e9f7ee;stroke:#3a9a5b}
.gc-grp rect{fill:#f3ecff;stroke:#7d5bc7;stroke-width:1.5;stroke-dasharray:none}
.gc-sub rect{fill:#fff4e0;stroke:#c78a1c;stroke-width:1.5;stroke-dasharray:4 2}
.gc-node text.gc-l0{font-weight:700;font-family:system-ui,sans-serif;font-size:12px}
.gc-node text.gc-dim{fill:#5b6475}
.gc-node.gc-sel rect{stroke:#d3302f;stroke-width:2.5}
.gc-node.gc-match rect{fill:#fff59d}
.gc-node.gc-inside rect{fill:#fffbd0}
.gc-cluster rect{fill:rgba(125,91,199,.05);stroke:#b6a3e0;stroke-width:1}
.gc-cluster.gc-subc rect{fill:rgba(199,138,28,.05);stroke:#e0b56a;stroke-dasharray:4 2}
.gc-cluster text{font-family:system-ui,sans-serif;font-size:11px;fill:#5a4596;cursor:pointer}
.gc-edge{fill:none;stroke:#8d96a8;stroke-width:1.1}
.gc-edge.gc-dash{stroke-dasharray:4 3;stroke:#c78a1c}
.gc-edge.gc-back{stroke:#d3302f;stroke-dasharray:2 2}
#gc-error{color:#b00020;padding:12px;white-space:pre-wrap}
`;

export const VIEW_SCRIPT = String.raw`
(function () {
'use strict';
var SVGNS = 'http://www.w3.org/2000/svg';
var FOLD_LIMIT = 300;
var D = JSON.parse(document.getElementById('gc-data').textContent);
var items = D.items, edges = D.edges, N = items.length;
var children = [], i;
for (i = 0; i < N; i++) children.push([]);
for (i = 0; i < N; i++) if (items[i].p >= 0) children[items[i].p].push(i);
var expanded = new Uint8Array(N);
var typeOf = new Map();
items.forEach(function (it) { (it.outs || []).concat(it.ins || []).forEach(function (v) { if (v.t && !typeOf.has(v.n)) typeOf.set(v.n, v.t); }); });
var rep = new Int32Array(N);
var selected = -1, pinned = false, dragged = false, query = '', scale = 1, matchCursor = -1, baseW = 0, baseH = 0;
var canvas = document.getElementById('gc-canvas');
var details = document.getElementById('gc-details');
var status = document.getElementById('gc-status');

function isContainer(j) { var k = items[j].k; return k === 'grp' || k === 'sub' || (k === 'op' && children[j].length > 0); }
function isCluster(j) { var k = items[j].k; return (k === 'grp' || k === 'sub') && expanded[j] === 1 && rep[j] === j; }
function isLeaf(j) { return rep[j] === j && !isCluster(j); }

function el(tag, attrs, text) {
  var e = tag.indexOf('svg:') === 0 ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  if (attrs) for (var a in attrs) if (Object.prototype.hasOwnProperty.call(attrs, a)) e.setAttribute(a, String(attrs[a]));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/**
 * A graph of up to FOLD_LIMIT nodes opens with every layer group open; a bigger one opens its
 * groups level by level, outermost first, while the nodes drawn stay within FOLD_LIMIT.
 * Subgraphs of If/Loop/Scan start folded.
 */
function defaults() {
  expanded.fill(0);
  if (D.nodeCount <= FOLD_LIMIT) { for (var j = 0; j < N; j++) if (items[j].k === 'grp') expanded[j] = 1; return; }
  var drawn = 0, level = [];
  for (j = 0; j < N; j++) if (items[j].p < 0) { drawn++; if (items[j].k === 'grp') level.push(j); }
  while (level.length) {
    var next = [];
    for (var k = 0; k < level.length; k++) {
      var g = level[k], more = children[g].length - 1;
      if (drawn + more > FOLD_LIMIT) continue;
      expanded[g] = 1; drawn += more;
      children[g].forEach(function (c) { if (items[c].k === 'grp') next.push(c); });
    }
    level = next;
  }
}

function expandAncestors(j) { for (var q = items[j].p; q >= 0; q = items[q].p) expanded[q] = 1; }

function applyHash() {
  var h = location.hash.replace(/^#/, '');
  if (!h) return;
  h.split('&').forEach(function (kv) {
    var at = kv.indexOf('='), key = at < 0 ? kv : kv.slice(0, at), v = at < 0 ? '' : kv.slice(at + 1);
    try { v = decodeURIComponent(v); } catch (e) { /* keep it raw */ }
    if (key === 'expand') {
      if (v === 'all') { for (var j = 0; j < N; j++) expanded[j] = isContainer(j) ? 1 : 0; }
      else if (v === 'none') { expanded.fill(0); }
      else { expanded.fill(0); v.split(',').forEach(function (name) {
        for (var j = 0; j < N; j++) if (items[j].name === name && isContainer(j)) { expanded[j] = 1; expandAncestors(j); }
      }); }
    } else if (key === 'select') {
      for (var j2 = 0; j2 < N; j2++) if (items[j2].name === v) { selected = j2; pinned = true; expandAncestors(j2); break; }
    } else if (key === 'q') {
      query = v;
      document.getElementById('gc-search').value = v;
    }
  });
}

function computeRep() {
  for (var j = 0; j < N; j++) {
    var p = items[j].p;
    rep[j] = p < 0 ? j : ((rep[p] !== p || !expanded[p]) ? rep[p] : j);
  }
}

function short(s, n) { return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }
function lastSeg(s) { var k = s.lastIndexOf('/'); return k >= 0 && k < s.length - 1 ? s.slice(k + 1) : s; }
/** A node's name inside its layer group (the group's path left out), or its full name. */
function relName(j) {
  var it = items[j], p = it.p;
  if (p >= 0 && items[p].k === 'grp' && it.name.indexOf(items[p].name + '/') >= 0) return it.name.slice(it.name.indexOf(items[p].name + '/') + items[p].name.length + 1);
  return it.name;
}
function srcShort(s) { var m = /([^\/\\:]+):(\d+)(?::\d+)?$/.exec(s); return m ? m[1] + ':' + m[2] : s; }
function fmtNum(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return String(n);
}

function nodeLines(j) {
  var it = items[j], lines = [];
  if (it.k === 'grp' || it.k === 'sub') {
    lines.push('\u25b8 ' + short(it.op, 34));
    lines.push(it.count + ' node' + (it.count === 1 ? '' : 's') + (it.params ? ' \u00b7 ' + fmtNum(it.params) + ' params' : ''));
    if (it.outs && it.outs.length) lines.push(short((it.outs[0].t || '?') + (it.outs.length > 1 ? ' +' + (it.outs.length - 1) : ''), 34));
    return lines;
  }
  if (it.k === 'in' || it.k === 'out') {
    lines.push(it.op);
    lines.push(short(it.name, 34));
    var v = it.k === 'in' ? it.outs[0] : it.ins[0];
    if (v && v.t) lines.push(short(v.t, 34));
    return lines;
  }
  lines.push((children[j].length ? (expanded[j] ? '\u25be ' : '\u25b8 ') : '') + short(it.op, 32));
  var nm = relName(j);
  if (nm && nm !== it.op) lines.push(short(nm, 34));
  var outs = it.outs || [];
  if (outs.length) {
    var t = outs[0].t || '?';
    lines.push(short(t + (outs.length > 1 ? ' +' + (outs.length - 1) : ''), 34));
  }
  if (it.params) lines.push(fmtNum(it.params) + ' params');
  if (children[j].length) lines.push(children[j].length + (children[j].length === 1 ? ' subgraph' : ' subgraphs') + ' \u00b7 ' + (it.count || 0) + ' nodes');
  if (it.src) lines.push(short(srcShort(it.src), 34));
  return lines;
}

var L, leaves, idx, lay, E, posX, posY, W, H, layers, maxLayer, layerTop, layerH;

function layout() {
  computeRep();
  leaves = []; idx = new Int32Array(N).fill(-1);
  for (var j = 0; j < N; j++) if (isLeaf(j)) { idx[j] = leaves.length; leaves.push(j); }
  L = leaves.length;
  // edges between drawn nodes, once per pair
  var seen = new Map(); E = [];
  for (var e = 0; e < edges.length; e++) {
    var a = rep[edges[e][0]], b = rep[edges[e][1]];
    if (a === b || idx[a] < 0 || idx[b] < 0) continue;
    var key = idx[a] * L + idx[b];
    var k = seen.get(key);
    if (k === undefined) { seen.set(key, E.length); E.push({ a: idx[a], b: idx[b], names: [edges[e][2]], dash: edges[e][3] === 1 }); }
    else { var ed = E[k]; if (ed.names.length < 8) ed.names.push(edges[e][2]); if (edges[e][3] !== 1) ed.dash = false; }
  }
  var preds = [], succs = [], v;
  for (v = 0; v < L; v++) { preds.push([]); succs.push([]); }
  E.forEach(function (ed) { preds[ed.b].push(ed.a); succs[ed.a].push(ed.b); });
  // longest-path layers (Kahn; a cycle is broken at its first node in item order)
  lay = new Int32Array(L);
  var indeg = new Int32Array(L), done = new Uint8Array(L), queue = [], head = 0, cursor = 0, count = 0;
  for (v = 0; v < L; v++) { indeg[v] = preds[v].length; if (!indeg[v]) queue.push(v); }
  while (count < L) {
    if (head === queue.length) {
      while (done[cursor]) cursor++;
      queue.push(cursor);
    }
    v = queue[head++];
    if (done[v]) continue;
    done[v] = 1; count++;
    var l = 0;
    for (var p = 0; p < preds[v].length; p++) if (done[preds[v][p]] && preds[v][p] !== v) l = Math.max(l, lay[preds[v][p]] + 1);
    lay[v] = l;
    for (var s = 0; s < succs[v].length; s++) { var w = succs[v][s]; if (--indeg[w] === 0 && !done[w]) queue.push(w); }
  }
  // a node with no inputs (a constant, a subgraph's first node) sits just above its first consumer
  for (v = L - 1; v >= 0; v--) {
    if (preds[v].length || !succs[v].length || items[leaves[v]].k === 'in' && items[leaves[v]].p < 0) continue;
    var m = Infinity;
    for (s = 0; s < succs[v].length; s++) m = Math.min(m, lay[succs[v][s]]);
    if (m !== Infinity && m - 1 > lay[v]) lay[v] = m - 1;
  }
  // long edges pass through one small virtual node per layer they cross (up to a budget), so
  // ordering keeps them apart from the nodes and they are drawn around, not through, them
  var V = L, vlay = Array.from(lay), chains = [];
  for (v = 0; v < L; v++) {
    var ch = [];
    for (var q = items[leaves[v]].p; q >= 0; q = items[q].p) if (isCluster(q)) ch.push(q);
    ch.reverse(); chains.push(ch);
  }
  var P = [], S = [];
  for (v = 0; v < L; v++) { P.push([]); S.push([]); }
  var budget = 40000;
  E.forEach(function (ed) {
    var span = lay[ed.b] - lay[ed.a];
    ed.path = [ed.a];
    if (span > 1 && span - 1 <= budget) {
      budget -= span - 1;
      var ca = chains[ed.a], cb = chains[ed.b], common = [];
      for (var d = 0; d < ca.length && d < cb.length && ca[d] === cb[d]; d++) common.push(ca[d]);
      for (var z = lay[ed.a] + 1; z < lay[ed.b]; z++) {
        vlay.push(z); chains.push(common); P.push([]); S.push([]);
        ed.path.push(V++);
      }
    }
    ed.path.push(ed.b);
    for (var k2 = 1; k2 < ed.path.length; k2++) { S[ed.path[k2 - 1]].push(ed.path[k2]); P[ed.path[k2]].push(ed.path[k2 - 1]); }
  });
  maxLayer = 0;
  for (v = 0; v < V; v++) maxLayer = Math.max(maxLayer, vlay[v]);
  layers = [];
  for (l = 0; l <= maxLayer; l++) layers.push([]);
  for (v = 0; v < V; v++) layers[vlay[v]].push(v);
  // ordering: barycentre sweeps on normalised positions, keeping groups together
  var pos = new Float64Array(V);
  layers.forEach(function (ly) { for (var q = 0; q < ly.length; q++) pos[ly[q]] = (q + 0.5) / ly.length; });
  function sortLayer(ly, key) {
    var mean = new Map();
    ly.forEach(function (x) { chains[x].forEach(function (c) { var o = mean.get(c); if (!o) mean.set(c, o = [0, 0]); o[0] += key[x]; o[1]++; }); });
    ly.sort(function (x, y) {
      var cx = chains[x], cy = chains[y];
      for (var d = 0; ; d++) {
        var ax = d < cx.length ? cx[d] : -1 - x, ay = d < cy.length ? cy[d] : -1 - y;
        if (ax === ay) continue;
        var vx = ax >= 0 ? mean.get(ax)[0] / mean.get(ax)[1] : key[x];
        var vy = ay >= 0 ? mean.get(ay)[0] / mean.get(ay)[1] : key[y];
        return (vx - vy) || (ax - ay);
      }
    });
  }
  var key = new Float64Array(V);
  var sweeps = V > 6000 ? 2 : 6;
  for (var it = 0; it < sweeps; it++) {
    var down = it % 2 === 0;
    for (var li = 0; li <= maxLayer; li++) {
      var ly = layers[down ? li : maxLayer - li];
      for (q = 0; q < ly.length; q++) {
        var x = ly[q], nb = down ? P[x] : S[x], sum = 0, n = 0;
        for (var t = 0; t < nb.length; t++) { sum += pos[nb[t]]; n++; }
        key[x] = n ? sum / n : pos[x];
      }
      sortLayer(ly, key);
      for (q = 0; q < ly.length; q++) pos[ly[q]] = (q + 0.5) / ly.length;
    }
  }
  // sizes
  W = new Float64Array(V); H = new Float64Array(V);
  for (v = 0; v < V; v++) {
    if (v >= L) { W[v] = 4; H[v] = 0; continue; }
    var lines = nodeLines(leaves[v]), mx = 0;
    lines.forEach(function (s) { mx = Math.max(mx, s.length); });
    W[v] = Math.max(80, Math.min(260, mx * 6.8 + 18));
    H[v] = lines.length * 14 + 10;
  }
  // y by layer: room above a node for the labels of the boxes it opens, below for their bottoms
  posY = new Float64Array(V); posX = new Float64Array(V);
  layerTop = []; layerH = [];
  var y = 20, depthOf = function (x) { return Math.min(chains[x].length, 6); };
  for (l = 0; l <= maxLayer; l++) {
    var hmax = 0, dIn = 0;
    layers[l].forEach(function (x) { if (x < L) dIn = Math.max(dIn, depthOf(x)); });
    if (l > 0) y += 22 * dIn;
    layers[l].forEach(function (x) { posY[x] = y; hmax = Math.max(hmax, H[x]); });
    layerTop.push(y); layerH.push(hmax);
    var dOut = 0;
    layers[l].forEach(function (x) { if (x < L) dOut = Math.max(dOut, depthOf(x)); });
    y += hmax + 30 + 10 * dOut;
  }
  for (v = L; v < V; v++) H[v] = layerH[vlay[v]];
  // x: pack each layer in order with gaps between groups, then pull towards neighbours
  function gapBetween(x0, x1) {
    var c0 = chains[x0], c1 = chains[x1], d = 0;
    while (d < c0.length && d < c1.length && c0[d] === c1[d]) d++;
    var base = x0 >= L && x1 >= L ? 6 : x0 >= L || x1 >= L ? 12 : 18;
    return base + 14 * ((c0.length - d) + (c1.length - d));
  }
  for (l = 0; l <= maxLayer; l++) {
    var xx = 20, lyr = layers[l];
    for (q = 0; q < lyr.length; q++) { if (q) xx += gapBetween(lyr[q - 1], lyr[q]); posX[lyr[q]] = xx; xx += W[lyr[q]]; }
  }
  for (it = 0; it < 6; it++) {
    down = it % 2 === 0;
    for (li = 0; li <= maxLayer; li++) {
      ly = layers[down ? li : maxLayer - li];
      if (!ly.length) continue;
      var want = [], shift = 0;
      for (q = 0; q < ly.length; q++) {
        x = ly[q]; nb = down ? P[x] : S[x];
        if (!nb.length) nb = down ? S[x] : P[x];
        sum = 0; n = 0;
        for (t = 0; t < nb.length; t++) { sum += posX[nb[t]] + W[nb[t]] / 2; n++; }
        want.push(n ? sum / n - W[x] / 2 : posX[x]);
      }
      var prev = -Infinity;
      for (q = 0; q < ly.length; q++) {
        x = ly[q];
        var g = q ? gapBetween(ly[q - 1], x) : 0;
        posX[x] = Math.max(want[q], prev + g);
        prev = posX[x] + W[x];
      }
      for (q = 0; q < ly.length; q++) shift += want[q] - posX[ly[q]];
      shift /= ly.length;
      if (shift < 0) for (q = 0; q < ly.length; q++) posX[ly[q]] += shift;
    }
  }
  var minX = Infinity;
  for (v = 0; v < V; v++) minX = Math.min(minX, posX[v]);
  var maxDepth = 0;
  chains.forEach(function (c) { maxDepth = Math.max(maxDepth, c.length); });
  var off = 30 + Math.min(maxDepth, 6) * 12 - (V ? minX : 0);
  for (v = 0; v < V; v++) posX[v] += off;
}

function clusterBoxes() {
  // each drawn node pushes the boxes around it out: 22 px a level above (the label), 10 below and beside
  var box = new Map();
  for (var v = 0; v < L; v++) {
    var chain = [];
    for (var q = items[leaves[v]].p; q >= 0; q = items[q].p) if (isCluster(q)) chain.push(q);
    for (var k = 0; k < chain.length; k++) {
      var c = chain[k], b = box.get(c), side = 8 + 10 * k;
      if (!b) box.set(c, b = [Infinity, Infinity, -Infinity, -Infinity]);
      b[0] = Math.min(b[0], posX[v] - side); b[1] = Math.min(b[1], posY[v] - 22 * (k + 1));
      b[2] = Math.max(b[2], posX[v] + W[v] + side); b[3] = Math.max(b[3], posY[v] + H[v] + side);
    }
  }
  var out = [];
  box.forEach(function (b, c) {
    var depth = 0;
    for (var q = items[c].p; q >= 0; q = items[q].p) depth++;
    out.push({ c: c, depth: depth, x: b[0], y: b[1], w: b[2] - b[0], h: b[3] - b[1] });
  });
  out.sort(function (a, b) { return a.depth - b.depth; });
  return out;
}

function matches(j) {
  if (!query) return false;
  var it = items[j], q = query.toLowerCase();
  return it.name.toLowerCase().indexOf(q) >= 0 || it.op.toLowerCase().indexOf(q) >= 0 || (it.src || '').toLowerCase().indexOf(q) >= 0;
}

function render() {
  var t0 = Date.now();
  layout();
  var boxes = clusterBoxes();
  var width = 200, height = 200, v;
  for (v = 0; v < posX.length; v++) { width = Math.max(width, posX[v] + W[v] + 40); height = Math.max(height, posY[v] + H[v] + 40); }
  boxes.forEach(function (b) { width = Math.max(width, b.x + b.w + 20); });
  baseW = width; baseH = height;
  var svg = el('svg:svg', { id: 'gc-svg', width: width * scale, height: height * scale, viewBox: '0 0 ' + width + ' ' + height });
  var defs = el('svg:defs');
  var mk = el('svg:marker', { id: 'gc-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  mk.appendChild(el('svg:path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8d96a8' }));
  defs.appendChild(mk); svg.appendChild(defs);
  var gClusters = el('svg:g', { id: 'gc-clusters' }), gEdges = el('svg:g', { id: 'gc-edges' }), gNodes = el('svg:g', { id: 'gc-nodes' });
  svg.appendChild(gClusters); svg.appendChild(gEdges); svg.appendChild(gNodes);
  boxes.forEach(function (b) {
    var it = items[b.c];
    var g = el('svg:g', { 'class': 'gc-cluster' + (it.k === 'sub' ? ' gc-subc' : ''), 'data-i': b.c });
    g.appendChild(el('svg:rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }));
    var text = '\u25be ' + (it.k === 'sub' ? it.name : it.op) + ' (' + it.count + (it.count === 1 ? ' node)' : ' nodes)');
    var label = el('svg:text', { x: b.x + 6, y: b.y + 12 }, short(text, Math.max(30, Math.min(80, Math.floor((b.w - 10) / 6.2)))));
    label.addEventListener('click', function (ev) { ev.stopPropagation(); toggle(b.c); });
    g.appendChild(label);
    g.appendChild(el('svg:title', null, (it.k === 'sub' ? 'subgraph ' : 'group ') + it.name + ' \u2014 click to fold'));
    gClusters.appendChild(g);
  });
  E.forEach(function (ed) {
    var a = ed.a, b = ed.b, back = lay[b] <= lay[a];
    var pts = [[posX[a] + W[a] / 2, posY[a] + H[a]]];
    for (var k = 1; k < ed.path.length - 1; k++) {
      var dv = ed.path[k], dx = posX[dv] + W[dv] / 2, top = layerTop[lay[a] + k];
      pts.push([dx, top - 6]); pts.push([dx, top + layerH[lay[a] + k] + 6]);
    }
    pts.push([posX[b] + W[b] / 2, posY[b]]);
    var path = 'M' + pts[0][0].toFixed(1) + ',' + pts[0][1].toFixed(1);
    if (back) {
      var s0 = pts[0], t0 = pts[pts.length - 1];
      path += ' C' + (s0[0] + 80) + ',' + (s0[1] + 80) + ' ' + (t0[0] + 80) + ',' + (t0[1] - 80) + ' ' + t0[0] + ',' + t0[1];
    } else {
      for (k = 1; k < pts.length; k++) {
        var p0 = pts[k - 1], p1 = pts[k], my = ((p0[1] + p1[1]) / 2).toFixed(1);
        path += p0[0] === p1[0] ? ' L' + p1[0].toFixed(1) + ',' + p1[1].toFixed(1)
          : ' C' + p0[0].toFixed(1) + ',' + my + ' ' + p1[0].toFixed(1) + ',' + my + ' ' + p1[0].toFixed(1) + ',' + p1[1].toFixed(1);
      }
    }
    var p = el('svg:path', { d: path, 'class': 'gc-edge' + (ed.dash ? ' gc-dash' : '') + (back ? ' gc-back' : ''), 'marker-end': 'url(#gc-arrow)' });
    var tip = ed.names.filter(function (x) { return x; }).map(function (x) { return typeOf.has(x) ? x + ': ' + typeOf.get(x) : x; }).join('\n');
    if (tip) p.appendChild(el('svg:title', null, tip));
    gEdges.appendChild(p);
  });
  var hidden = 0, shown = 0;
  var inside = new Uint8Array(N);
  if (query) for (var j = 0; j < N; j++) if (matches(j)) { if (rep[j] !== j) { hidden++; inside[rep[j]] = 1; } else shown++; }
  for (v = 0; v < L; v++) {
    var jj = leaves[v], it = items[jj];
    var cls = 'gc-node ' + (it.k === 'op' ? (children[jj].length ? 'gc-op gc-cf' : 'gc-op') : 'gc-' + it.k);
    if (jj === selected) cls += ' gc-sel';
    if (query && matches(jj)) cls += ' gc-match';
    else if (inside[jj]) cls += ' gc-inside';
    var g = el('svg:g', { 'class': cls, 'data-i': jj, 'data-kind': it.k, transform: 'translate(' + posX[v] + ',' + posY[v] + ')' });
    g.appendChild(el('svg:rect', { width: W[v], height: H[v], rx: it.k === 'in' || it.k === 'out' ? 12 : 4 }));
    nodeLines(jj).forEach(function (s, k) {
      g.appendChild(el('svg:text', { x: 8, y: 16 + 14 * k, 'class': k === 0 ? 'gc-l0' : 'gc-dim' }, s));
    });
    g.appendChild(el('svg:title', null, it.op + ' ' + it.name + (it.src ? '\n' + it.src : '')));
    gNodes.appendChild(g);
  }
  function itemAt(ev) {
    var t = ev.target;
    while (t && t !== gNodes && !(t.getAttribute && t.getAttribute('data-i'))) t = t.parentNode;
    return !t || t === gNodes ? -1 : Number(t.getAttribute('data-i'));
  }
  gNodes.addEventListener('click', function (ev) {
    var j = itemAt(ev);
    if (j < 0 || dragged) return;
    ev.stopPropagation();
    selected = j; pinned = true;
    if (isContainer(j)) toggle(j); else { markSelected(); showDetails(j); }
  });
  gNodes.addEventListener('mouseover', function (ev) {
    var j = itemAt(ev);
    if (j >= 0 && !pinned) showDetails(j);
  });
  canvas.textContent = '';
  canvas.appendChild(svg);
  document.body.setAttribute('data-drawn', String(L));
  document.body.setAttribute('data-edges', String(E.length));
  document.body.setAttribute('data-clusters', String(boxes.length));
  status.textContent = L + ' boxes drawn for ' + D.nodeCount + ' nodes \u00b7 ' + E.length + ' edges \u00b7 ' + boxes.length + ' open groups' +
    (query ? ' \u00b7 ' + (shown + hidden) + ' matches' + (hidden ? ' (' + hidden + ' in folded groups: Enter)' : '') : '') +
    ' \u00b7 ' + (Date.now() - t0) + ' ms';
  if (selected >= 0) showDetails(selected);
}

function markSelected() {
  var nodes = document.querySelectorAll('#gc-nodes .gc-node');
  for (var k = 0; k < nodes.length; k++) {
    var j = Number(nodes[k].getAttribute('data-i'));
    if (j === selected) nodes[k].classList.add('gc-sel'); else nodes[k].classList.remove('gc-sel');
  }
}

function zoom(f) {
  scale = Math.max(0.05, Math.min(4, scale * f));
  var svg = document.getElementById('gc-svg');
  if (svg) { svg.setAttribute('width', String(baseW * scale)); svg.setAttribute('height', String(baseH * scale)); }
}

function scrollTo(j) {
  var v = idx[rep[j]];
  if (v < 0) return;
  canvas.scrollLeft = Math.max(0, (posX[v] + W[v] / 2) * scale - canvas.clientWidth / 2);
  canvas.scrollTop = Math.max(0, (posY[v] + H[v] / 2) * scale - canvas.clientHeight / 2);
}

function toggle(j) {
  expanded[j] = expanded[j] ? 0 : 1;
  selected = j;
  render();
  scrollTo(j);
}

function section(parent, title) { parent.appendChild(el('h2', null, title)); var t = el('table'); parent.appendChild(t); return t; }
function row(t, k, v, mono) { var tr = el('tr'); tr.appendChild(el('td', null, k)); tr.appendChild(el('td', mono ? { 'class': 'gc-mono' } : null, v)); t.appendChild(tr); }

function showDetails(j) {
  var it = items[j];
  details.textContent = '';
  var kind = it.k === 'grp' ? 'layer group' : it.k === 'sub' ? 'subgraph' : it.k === 'in' ? 'graph input' : it.k === 'out' ? 'graph output' : 'node';
  var t = section(details, 'Selected ' + kind);
  row(t, it.k === 'op' ? 'op' : 'label', it.op, true);
  row(t, 'name', it.name, true);
  if (it.src) row(t, 'source', it.src, true);
  if (it.doc) row(t, 'doc', it.doc);
  if (it.count !== undefined) row(t, 'nodes', String(it.count));
  if (it.params) row(t, 'parameters', String(it.params));
  var path = [];
  for (var q = it.p; q >= 0; q = items[q].p) path.unshift(items[q].k === 'sub' ? items[q].name : items[q].op);
  if (path.length) row(t, 'in', path.join(' \u203a '), true);
  if (it.ins && it.ins.length) {
    var ti = section(details, 'Inputs');
    it.ins.forEach(function (x, k) { row(ti, String(k), (x.n || '(none)') + (x.t ? ': ' + x.t : '') + (x.i ? '  [initializer ' + x.i + ']' : ''), true); });
  }
  if (it.outs && it.outs.length) {
    var to = section(details, 'Outputs');
    it.outs.forEach(function (x, k) { row(to, String(k), x.n + (x.t ? ': ' + x.t : ''), true); });
  }
  if (it.attrs && it.attrs.length) {
    var ta = section(details, 'Attributes');
    it.attrs.forEach(function (a) { row(ta, a[0], a[1], true); });
  }
  if (isContainer(j)) {
    var hist = new Map(), stack = children[j].slice();
    while (stack.length) { var c = stack.pop(); if (items[c].k === 'op') hist.set(items[c].op, (hist.get(items[c].op) || 0) + 1); children[c].forEach(function (x) { stack.push(x); }); }
    if (hist.size) {
      var th = section(details, 'Ops inside');
      Array.from(hist.entries()).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 40).forEach(function (e) { row(th, e[0], String(e[1]), true); });
    }
    var b = el('button', null, expanded[j] ? 'Fold' : 'Expand');
    b.addEventListener('click', function () { toggle(j); });
    details.appendChild(b);
  }
}

function sidebar() {
  var side = document.getElementById('gc-model');
  var t = section(side, 'Model');
  D.info.forEach(function (kv) { row(t, kv[0], kv[1]); });
  var ti = section(side, 'Graph inputs');
  D.inputs.forEach(function (x) { row(ti, x.n, x.t || '?', true); });
  var to = section(side, 'Graph outputs');
  D.outputs.forEach(function (x) { row(to, x.n, x.t || '?', true); });
  var inits = D.inits.slice().sort(function (a, b) { return b.bytes - a.bytes; });
  var tn = section(side, 'Initializers (' + inits.length + ', largest first)');
  tn.setAttribute('id', 'gc-inits');
  inits.slice(0, 500).forEach(function (x) { row(tn, x.name, x.dtype + '[' + x.dims.join(',') + '] \u00b7 ' + x.bytes + ' bytes', true); });
  if (inits.length > 500) row(tn, '\u2026', (inits.length - 500) + ' more');
}

function nextMatch() {
  if (!query) return;
  for (var k = 1; k <= N; k++) {
    var j = (matchCursor + k) % N;
    if (items[j].k !== 'grp' && matches(j)) {
      matchCursor = j; selected = j; expandAncestors(j); render(); scrollTo(j); return;
    }
  }
}

try {
  defaults();
  applyHash();
  document.getElementById('gc-search').addEventListener('input', function (ev) { query = ev.target.value.trim(); matchCursor = -1; render(); });
  document.getElementById('gc-search').addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') nextMatch();
    if (ev.key === 'Escape') { ev.target.value = ''; query = ''; render(); }
  });
  document.getElementById('gc-expand').addEventListener('click', function () { for (var j = 0; j < N; j++) expanded[j] = isContainer(j) ? 1 : 0; render(); });
  document.getElementById('gc-fold').addEventListener('click', function () { expanded.fill(0); render(); });
  document.getElementById('gc-zin').addEventListener('click', function () { zoom(1.25); });
  document.getElementById('gc-zout').addEventListener('click', function () { zoom(0.8); });
  document.getElementById('gc-fit').addEventListener('click', function () {
    zoom(Math.min(1, (canvas.clientWidth - 8) / baseW, (canvas.clientHeight - 8) / baseH) / scale);
  });
  canvas.addEventListener('wheel', function (ev) { if (ev.ctrlKey || ev.metaKey) { ev.preventDefault(); zoom(ev.deltaY < 0 ? 1.1 : 1 / 1.1); } }, { passive: false });
  // drag the background to pan; a click on it lets hovering show details again
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, l: canvas.scrollLeft, t: canvas.scrollTop, moved: false };
  });
  window.addEventListener('mousemove', function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    canvas.scrollLeft = drag.l - dx; canvas.scrollTop = drag.t - dy;
  });
  window.addEventListener('mouseup', function () { dragged = !!(drag && drag.moved); drag = null; });
  canvas.addEventListener('click', function (ev) {
    if (dragged) return;
    if (ev.target === canvas || (ev.target.getAttribute && ev.target.getAttribute('id') === 'gc-svg')) { pinned = false; selected = -1; markSelected(); }
  });
  sidebar();
  render();
  if (selected >= 0) scrollTo(selected);
  document.body.setAttribute('data-ready', '1');
} catch (err) {
  var box = document.getElementById('gc-error');
  box.textContent = 'graphc view: ' + (err && err.stack || err);
  document.body.setAttribute('data-ready', 'error');
}
})();
`;
