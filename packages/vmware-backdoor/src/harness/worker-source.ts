import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/**
 * Starts the tracer worker. From the built package it is `trace-worker.js` beside this file. From
 * the TypeScript sources (tests, tsx) Node 20 workers cannot load `.ts` (loader hooks do not reach
 * worker threads), so the entry and its small pure siblings are bundled on the fly with esbuild
 * (a dev-time dependency, via tsx) into one CommonJS script and started with `eval: true`.
 */
export async function startTraceWorker(options: WorkerOptions): Promise<Worker> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./trace-worker.js', here), options);
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./trace-worker.ts', here))],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['@vmkd/source'],
    external: ['koffi'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no worker bundle');
  return new Worker(code, { ...options, eval: true });
}
