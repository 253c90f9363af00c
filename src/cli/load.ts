/** Loading what the CLI is pointed at: TypeScript modules (through tsx) and saved tfjs LayersModels. */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CliError } from './cli_error.js';

export async function loadTsModule(file: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new CliError(`${file}: no such file`);
  const { tsImport } = await import('tsx/esm/api');
  try {
    return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`${file}: the module failed to load: ${String((e as Error).message).split('\n')[0]}`, e);
  }
}

interface WeightsGroup { paths: string[]; weights: tf.io.WeightsManifestEntry[] }

/** A tfjs LayersModel saved as model.json plus weight files next to it. */
export async function loadLayersModelFile(file: string): Promise<tfl.LayersModel> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new CliError(`${file}: no such file`);
  let json: { modelTopology?: unknown; weightsManifest?: WeightsGroup[]; format?: string };
  try {
    json = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new CliError(`${file}: not a JSON file (${(e as Error).message})`);
  }
  if (!json.modelTopology) throw new CliError(`${file}: not a tfjs LayersModel (no modelTopology)`, undefined, 'save the model with model.save("file://...") from tfjs-layers');
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const wp = path.resolve(path.dirname(abs), p);
      if (!existsSync(wp)) throw new CliError(`${file}: weight file ${p} is missing (looked for ${wp})`);
      buffers.push(new Uint8Array(readFileSync(wp)));
    }
  }
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) { data.set(b, off); off += b.length; }
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: data.buffer }));
}
