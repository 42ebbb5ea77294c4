#!/usr/bin/env node
// Prints the one closing line CI reads, `P passed, F failed[, S skipped]`, from vitest's JSON
// report. vitest's own summary is not that line, and a file that crashes while loading leaves
// numFailedTests at 0, so crashed files are counted here explicitly.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export function summarize(report) {
  if (report === undefined || report === null || typeof report !== 'object') {
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const passed = Number(report.numPassedTests ?? 0);
  const skipped = Number(report.numPendingTests ?? 0) + Number(report.numTodoTests ?? 0);
  let failed = Number(report.numFailedTests ?? 0);
  for (const file of report.testResults ?? []) {
    const failedAssertions = (file.assertionResults ?? []).filter((a) => a.status === 'failed').length;
    if (file.status === 'failed' && failedAssertions === 0) failed += 1;
  }
  if (report.success === false && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

export function formatSummary({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

function main() {
  const { values } = parseArgs({ options: { report: { type: 'string', default: 'reports/vitest.json' } } });
  let report;
  try {
    report = JSON.parse(readFileSync(values.report, 'utf8'));
  } catch {
    report = undefined;
  }
  const summary = summarize(report);
  process.stdout.write(`${formatSummary(summary)}\n`);
  process.exitCode = summary.failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
