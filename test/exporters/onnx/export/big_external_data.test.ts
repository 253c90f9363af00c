/**
 * writeOnnxModel (exporters/onnx/export/external_data.ts): a model written with its initializers
 * in model.onnx.data (forced, with a small threshold) runs in onnxruntime-node from its path with
 * the numbers of the one-file model, passes onnx.checker.check_model(path, full_check=True) and
 * onnx.load's reading of the data (same bytes per initializer), and reads back through graphc's
 * import from its path. Plus 'auto', the 2 GiB refusal (views on one 64 MiB buffer: nothing
 * near 2 GiB is allocated), and writes that stay in the folder.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import * as gc from 'graphc';
import { PROTOBUF_LIMIT, writeOnnxModel } from '../../../../exporters/onnx/export/external_data.js';
import { readOnnxModelFile } from '../../../../exporters/onnx/import/external_data.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { fromOnnxModel } from '../../../../src/onnx_import.js';

const PYTHON = '/usr/bin/python3';
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

let dir: string;
let bytes: Uint8Array;
const x = Float32Array.from({ length: 3 * 40 }, (_, i) => Math.sin(i * 0.37));

beforeAll(async () => {
  await gc.ensureBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'graphc-extdata-'));
  // 40×512 floats (80 KiB: page-aligned), 512 and 512×8 (past the 64-byte threshold), 8 (32 bytes: stays inline).
  const w1 = tf.variable(tf.randomUniform([40, 512], -0.3, 0.3, 'float32', 1), true, 'dense/kernel');
  const b1 = tf.variable(tf.randomUniform([512], -0.1, 0.1, 'float32', 2), true, 'dense/bias');
  const w2 = tf.variable(tf.randomUniform([512, 8], -0.3, 0.3, 'float32', 3), true, 'out/kernel');
  const b2 = tf.variable(tf.randomUniform([8], -0.1, 0.1, 'float32', 4), true, 'out/bias');
  const g = gc.trace((xs: tf.Tensor) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(xs, w1), b1)), w2), b2), [gc.spec(['batch', 40])]);
  bytes = gc.toOnnx(g);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function runOrt(model: string | Uint8Array): Promise<Float32Array> {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', x, [3, 40]) };
  const out = await s.run(feeds);
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('writeOnnxModel with external data', () => {
  it('writes model.onnx + model.onnx.data that ORT, onnx.checker, onnx.load and graphc read with the same numbers', async () => {
    const model = onnx.ModelProto.decode(bytes);
    const rawBefore = new Map(model.graph!.initializer!.map((t) => [t.name!, sha(t.rawData!)]));
    const sub = join(dir, 'forced');
    mkdirSync(sub);
    const out = join(sub, 'mlp.onnx');
    const w = gc.writeOnnxModel(model, out, { externalData: true, sizeThreshold: 64 });
    expect(w.files).toEqual([out, `${out}.data`]);
    expect(readdirSync(sub).sort()).toEqual(['mlp.onnx', 'mlp.onnx.data']); // no temporary file left
    expect(w.bytes).toBe(readFileSync(out).length + readFileSync(`${out}.data`).length);

    // The caller's model is unchanged; the file holds references.
    expect(new Map(model.graph!.initializer!.map((t) => [t.name!, sha(t.rawData!)]))).toEqual(rawBefore);
    const written = onnx.ModelProto.decode(readFileSync(out));
    const data = readFileSync(`${out}.data`);
    let externals = 0;
    for (const t of written.graph!.initializer!) {
      const original = model.graph!.initializer!.find((o) => o.name === t.name)!;
      if (original.rawData!.length < 64) {
        expect(t.dataLocation).not.toBe(EXTERNAL);
        expect(sha(t.rawData!)).toBe(rawBefore.get(t.name!));
        continue;
      }
      externals++;
      expect(t.dataLocation).toBe(EXTERNAL);
      expect(t.rawData?.length ?? 0).toBe(0);
      const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
      expect(kv.location).toBe('mlp.onnx.data');
      const offset = Number(kv.offset), length = Number(kv.length);
      expect(length).toBe(original.rawData!.length);
      expect(offset % (length >= 65536 ? 4096 : 64)).toBe(0);
      expect(sha(data.subarray(offset, offset + length))).toBe(rawBefore.get(t.name!));
    }
    expect(externals).toBe(3);

    // ONNX Runtime from the path: the one-file model's numbers exactly.
    expect(Array.from(await runOrt(out))).toEqual(Array.from(await runOrt(bytes)));

    // onnx.checker on the path (it follows the external data), and onnx.load's bytes per initializer.
    const py = `
import sys, json, hashlib, onnx
from onnx import numpy_helper
onnx.checker.check_model(sys.argv[1], full_check=True)
m = onnx.load(sys.argv[1])
print(json.dumps({t.name: hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest() for t in m.graph.initializer}))
`;
    const loaded = JSON.parse(execFileSync(PYTHON, ['-c', py, out], { encoding: 'utf8' })) as Record<string, string>;
    expect(new Map(Object.entries(loaded))).toEqual(rawBefore);

    // graphc's import from the path: the same graph as from the one-file bytes, the same numbers.
    const g = fromOnnxModel(readOnnxModelFile(out));
    expect(gc.fromOnnxFile(out).toString()).toBe(g.toString());
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const s0 = await gc.Session.create(gc.fromOnnx(bytes), { backend: 'cpu' });
    const feed = { [g.inputs[0]!.name!]: tf.tensor(x, [3, 40]) };
    const y = (await s.run(g.outputs[0]!.name, feed)) as tf.Tensor;
    const y0 = (await s0.run(g.outputs[0]!.name, feed)) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(y0.dataSync()));
    s.dispose(); s0.dispose();
  });

  it("'auto' writes one file, the bytes the encoder gives, when the model is under 2 GiB", () => {
    const model = onnx.ModelProto.decode(bytes);
    const out = join(dir, 'auto.onnx');
    const w = writeOnnxModel(model, out);
    expect(w.files).toEqual([out]);
    expect(existsSync(`${out}.data`)).toBe(false);
    expect(sha(readFileSync(out))).toBe(sha(onnx.ModelProto.encode(model).finish()));
  });

  it('one file is written in pieces (weights straight from their arrays) with the bytes finish() gives', () => {
    // Long strings (written by Buffer methods), 2 MB of small fields (the staging buffer fills
    // and flushes), a 3 MB doc string (larger than the staging buffer), raw_data of 100 KiB at
    // odd offsets of a shared buffer (written from their arrays).
    const shared = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251);
    const model: onnx.IModelProto = {
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'a producer name longer than forty characters, ünïcödé',
      docString: 'd'.repeat(3 << 20),
      graph: {
        name: 'pieces',
        initializer: [
          ...Array.from({ length: 2000 }, (_, i) => ({ name: `small_${i}_${'n'.repeat(40)}`, dataType: 2, dims: [1000], rawData: shared.subarray(i, i + 1000) })),
          { name: 'big_a', dataType: 2, dims: [102400], rawData: shared.subarray(3, 3 + 102400) },
          { name: 'big_b', dataType: 2, dims: [102401], rawData: shared.subarray(150_001, 150_001 + 102401) },
        ],
        output: [],
      },
    };
    const out = join(dir, 'pieces.onnx');
    const w = writeOnnxModel(model, out, { externalData: false });
    const want = onnx.ModelProto.encode(model).finish();
    expect(w.bytes).toBe(want.length);
    expect(sha(readFileSync(out))).toBe(sha(want));
  });

  it('a model over 2 GiB is refused as one file (GC0513) before anything is written', () => {
    // 33 initializers that are views on one 64 MiB buffer: 2.06 GiB of raw_data, 64 MiB allocated.
    const raw = new Uint8Array(64 << 20);
    const model: onnx.IModelProto = {
      irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', initializer: Array.from({ length: 33 }, (_, i) => ({ name: `w${i}`, dataType: 1, dims: [16 << 20], rawData: raw })), output: [] },
    };
    const out = join(dir, 'huge.onnx');
    expect(() => writeOnnxModel(model, out, { externalData: false })).toThrow(new RegExp(`GC0513.*takes \\d+ bytes, over protobuf's limit of ${PROTOBUF_LIMIT}`));
    expect(readdirSync(dir).filter((f) => f.startsWith('huge') || f.startsWith('.huge'))).toEqual([]);
  });

  it('never writes outside the folder: a symlink at the data path is replaced, not followed', () => {
    const sub = join(dir, 'links');
    const outside = join(dir, 'outside.bin');
    mkdirSync(sub);
    writeFileSync(outside, 'keep me');
    symlinkSync(outside, join(sub, 'm.onnx.data'));
    writeOnnxModel(onnx.ModelProto.decode(bytes), join(sub, 'm.onnx'), { externalData: true });
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
    expect(lstatSync(join(sub, 'm.onnx.data')).isFile()).toBe(true);
  });

  it('a data path that is a directory fails before the model is written, leaving no files', () => {
    const sub = join(dir, 'dirdata');
    mkdirSync(join(sub, 'm.onnx.data'), { recursive: true });
    expect(() => writeOnnxModel(onnx.ModelProto.decode(bytes), join(sub, 'm.onnx'), { externalData: true })).toThrow(/GC0610.*m\.onnx\.data: is a directory/);
    expect(readdirSync(sub)).toEqual(['m.onnx.data']);
  });

  it('refuses bad options', () => {
    const model = onnx.ModelProto.decode(bytes);
    expect(() => writeOnnxModel(model, join(dir, 'o.onnx'), { sizeThreshold: -1 })).toThrow(/GC0511.*sizeThreshold/);
    expect(() => writeOnnxModel(model, join(dir, 'o.onnx'), { externalData: 'yes' as unknown as boolean })).toThrow(/GC0511.*externalData/);
  });
});
