import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderMarkdown } from './markdown.js';
import type { BenchResult } from './result-types.js';
import { renderLatencySvg, renderThroughputSvg } from './svg-charts.js';

export const OUTPUT_FILES = {
  json: 'results.json',
  markdown: 'results.md',
  throughput: 'throughput.svg',
  latency: 'latency.svg',
} as const;

/** Writes results.json, results.md, throughput.svg and latency.svg into `dir`; returns their paths. */
export async function writeBenchOutputs(result: BenchResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    [OUTPUT_FILES.json, `${JSON.stringify(result, null, 2)}\n`],
    [OUTPUT_FILES.markdown, renderMarkdown(result, { charts: { throughput: OUTPUT_FILES.throughput, latency: OUTPUT_FILES.latency } })],
    [OUTPUT_FILES.throughput, renderThroughputSvg(result)],
    [OUTPUT_FILES.latency, renderLatencySvg(result)],
  ];
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}
