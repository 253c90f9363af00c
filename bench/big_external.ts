/**
 * A model past protobuf's 2 GiB, written by writeOnnxModel ('auto') and read back: the manual
 * check of external data at full size (it allocates ~2.3 GB once, and ONNX Runtime and graphc
 * each hold the weights: about 6 GB of memory in all).
 *
 *   nice npx tsx bench/big_external.ts [--gib 2.25] [--keep DIR]
 *
 * The model is y = ReduceSum(x · W_0) + … + ReduceSum(x · W_k) with float32 W_i of 256 MiB each
 * (W_i = a ramp times i + 1), built as a ModelProto. It prints the files and sizes written, the
 * write time next to fs.writeFileSync of the same bytes, then runs the file in onnxruntime-node
 * (InferenceSession.create(path)), checks it with onnx.checker.check_model(path, full_check=True),
 * reads it through graphc's readOnnxModelFile + fromOnnxModel + Session, and compares the three
 * results with the value computed here in float64.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { onnx } from '../exporters/onnx/proto.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const gib = Number(flag('--gib') ?? 2.25);
const PER = 256 * 1024 * 1024;
const count = Math.ceil((gib * 2 ** 30) / PER);
const rows = 64, cols = PER / 4 / rows;

async function main(): Promise<void> {
  const { onnx: proto } = await import('../exporters/onnx/proto.js');
  const { writeOnnxModel } = await import('../exporters/onnx/export/external_data.js');
  const dir = flag('--keep') ?? mkdtempSync(join(tmpdir(), 'graphc-bigext-'));
  try {
    // One ramp per weight: W_i[r, c] = (i + 1) · ((r·cols + c) mod 7 − 3) / 1024, so each sum is exact in float32.
    const weights = Array.from({ length: count }, (_, i) => {
      const w = new Float32Array(rows * cols);
      for (let k = 0; k < w.length; k++) w[k] = ((i + 1) * ((k % 7) - 3)) / 1024;
      return w;
    });
    const x = Float32Array.from({ length: rows }, (_, r) => (r % 3) - 1);
    // Expected, in float64: sum over i, c of sum over r of x[r] W_i[r, c].
    let expected = 0;
    for (const [i, w] of weights.entries()) {
      void i;
      for (let r = 0; r < rows; r++) {
        if (x[r] === 0) continue;
        let s = 0;
        for (let c = 0; c < cols; c++) s += w[r * cols + c]!;
        expected += x[r]! * s;
      }
    }
    const nodes: onnx.INodeProto[] = [];
    const sums: string[] = [];
    for (let i = 0; i < count; i++) {
      nodes.push({ opType: 'MatMul', input: ['x', `W${i}`], output: [`h${i}`], name: `mm${i}` });
      nodes.push({ opType: 'ReduceSum', input: [`h${i}`], output: [`s${i}`], name: `sum${i}`, attribute: [{ name: 'keepdims', type: proto.AttributeProto.AttributeType.INT, i: 0 }] });
      sums.push(`s${i}`);
    }
    nodes.push({ opType: 'Sum', input: sums, output: ['y'], name: 'total' });
    const model: onnx.IModelProto = {
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'graphc bench',
      graph: {
        name: 'big', node: nodes,
        initializer: weights.map((w, i) => ({ name: `W${i}`, dataType: 1, dims: [rows, cols], rawData: new Uint8Array(w.buffer) })),
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: rows }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [] } } } }],
      },
    };
    const out = join(dir, 'big.onnx');
    let t = performance.now();
    const w = writeOnnxModel(model, out);
    const tWrite = (performance.now() - t) / 1000;
    const ref = join(dir, 'reference.bin');
    t = performance.now();
    for (const [i, wt] of weights.entries()) writeFileSync(ref, new Uint8Array(wt.buffer), { flag: i === 0 ? 'w' : 'a' });
    const tRef = (performance.now() - t) / 1000;
    rmSync(ref);
    console.log(`${count} weights of 256 MiB: ${(count * PER / 2 ** 30).toFixed(2)} GiB; writeOnnxModel 'auto' wrote ${w.files.map((f) => `${f} (${statSync(f).size} bytes)`).join(', ')}`);
    console.log(`write ${tWrite.toFixed(2)} s; fs.writeFileSync of the weights' bytes ${tRef.toFixed(2)} s (${(tWrite / tRef).toFixed(2)}×, with fsync and rename)`);
    weights.length = 0;
    console.log(`expected y = ${expected}`);

    const ort = await import('onnxruntime-node');
    t = performance.now();
    const s = await ort.InferenceSession.create(out);
    const r = await s.run({ x: new ort.Tensor('float32', x, [1, rows]) });
    console.log(`onnxruntime-node from the path: y = ${(r.y!.data as Float32Array)[0]} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    await s.release();

    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True); print("onnx.checker.check_model(path, full_check=True): ok")', out], { encoding: 'utf8' });
    console.log((py.stdout + py.stderr).trim().split('\n').slice(-2).join(' | '));

    await import('../src/tfjs_setup.js');
    const gc = await import('../src/index.js');
    const { readOnnxModelFile } = await import('../exporters/onnx/import/external_data.js');
    const { fromOnnxModel } = await import('../src/onnx_import.js');
    t = performance.now();
    const g = fromOnnxModel(readOnnxModelFile(out));
    const sess = await gc.Session.create(g, { backend: 'cpu' });
    const y = (await sess.run('y', { x })) as { dataSync(): Float32Array };
    console.log(`graphc readOnnxModelFile + fromOnnxModel + Session (cpu): y = ${y.dataSync()[0]} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    sess.dispose();
  } finally {
    if (flag('--keep') === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
