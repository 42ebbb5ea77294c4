#!/usr/bin/env node
// Prints the one closing line CI reads, `P passed, F failed[, S skipped]`, from vitest's JSON
// report. vitest's own summary is not that line, and a file that crashes while loading leaves
// numFailedTests at 0, so crashed files are counted here explicitly. Given several reports
// (`--report linux.json --report windows.json`: the suite and the Windows lane), it prints one line
// per report first and closes with their sum; a missing report counts as one failure.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
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

/** The sum of several summaries. */
export function addSummaries(summaries) {
  return summaries.reduce((sum, s) => ({ passed: sum.passed + s.passed, failed: sum.failed + s.failed, skipped: sum.skipped + s.skipped }), {
    passed: 0,
    failed: 0,
    skipped: 0,
  });
}

/** The lines to print for these labelled summaries: one per report when there are several, then the total. */
export function summaryLines(labelled) {
  const total = formatSummary(addSummaries(labelled.map(({ summary }) => summary)));
  if (labelled.length < 2) return [total];
  return [...labelled.map(({ label, summary }) => `${label}: ${formatSummary(summary)}`), total];
}

function readReport(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function main() {
  const { values } = parseArgs({ options: { report: { type: 'string', multiple: true } } });
  const paths = values.report ?? ['reports/vitest.json'];
  const labelled = paths.map((path) => ({ label: path, summary: summarize(readReport(path)) }));
  for (const line of summaryLines(labelled)) process.stdout.write(`${line}\n`);
  process.exitCode = addSummaries(labelled.map(({ summary }) => summary)).failed > 0 ? 1 : 0;
}

// pathToFileURL, not `file://${path}`: on Windows the path is `C:\…` and the URL file:///C:/….
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
