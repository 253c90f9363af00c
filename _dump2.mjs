import pkg from 'onnx-proto';
const { onnx } = pkg;
import fs from 'node:fs';
const c = process.argv[2];
const m = onnx.ModelProto.decode(fs.readFileSync(`/usr/share/libonnx-testdata/data/node/${c}/model.onnx`));
const show = (g, ind) => {
  for (const i of g.input) console.log(ind+'in', i.name, JSON.stringify(i.type?.tensorType?.shape?.dim?.map(d=>d.dimValue?.toString?.() ?? d.dimParam)), i.type?.tensorType?.elemType, Object.keys(i.type?.toJSON?.()||{}));
  for (const n of g.node) { console.log(ind+n.opType, n.input.join(','), '->', n.output.join(','), JSON.stringify(n.attribute.filter(a=>a.type!==5).map(a => [a.name, a.type===2? a.i.toString(): a.type===1? a.f : a.type===3? Buffer.from(a.s).toString(): a.type===7? a.ints.map(String): a.type===6 ? a.floats : a.type]))); for (const a of n.attribute) if (a.type===5) { console.log(ind+'  graph', a.name); show(a.g, ind+'    ');} }
  for (const i of g.output) console.log(ind+'out', i.name, JSON.stringify(i.type?.tensorType?.shape?.dim?.map(d=>d.dimValue?.toString?.() ?? d.dimParam)), Object.keys(i.type?.toJSON?.()||{}));
};
console.log('opset', m.opsetImport.map(o=>o.domain+':'+o.version).join(','));
show(m.graph, '');
