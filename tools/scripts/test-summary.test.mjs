import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addSummaries, formatSummary, summarize, summaryLines } from './test-summary.mjs';

const SCRIPT = fileURLToPath(new URL('./test-summary.mjs', import.meta.url));

describe('test-summary', () => {
  it('counts passed, failed and skipped from the JSON report', () => {
    const report = { success: true, numPassedTests: 4, numFailedTests: 0, numPendingTests: 1, numTodoTests: 0, testResults: [] };
    expect(formatSummary(summarize(report))).toBe('4 passed, 0 failed, 1 skipped');
  });

  it('counts a file that crashed while loading as a failure', () => {
    const report = {
      success: false,
      numPassedTests: 4,
      numFailedTests: 0,
      numPendingTests: 1,
      numTodoTests: 0,
      testResults: [{ status: 'failed', assertionResults: [] }, { status: 'passed', assertionResults: [{ status: 'passed' }] }],
    };
    expect(formatSummary(summarize(report))).toBe('4 passed, 1 failed, 1 skipped');
  });

  it('does not double-count a file whose failure is already an assertion', () => {
    const report = { success: false, numPassedTests: 1, numFailedTests: 1, testResults: [{ status: 'failed', assertionResults: [{ status: 'failed' }] }] };
    expect(summarize(report)).toEqual({ passed: 1, failed: 1, skipped: 0 });
  });

  it('reports an unsuccessful run with no counted failure as one failure', () => {
    expect(summarize({ success: false, numPassedTests: 3, numFailedTests: 0, testResults: [] }).failed).toBe(1);
  });

  it('treats a missing report as a failed run', () => {
    expect(formatSummary(summarize(undefined))).toBe('0 passed, 1 failed');
  });

  it('adds a second report (the Windows lane) to the closing line, after one line per report', () => {
    const linux = { passed: 900, failed: 0, skipped: 3 };
    const windows = { passed: 500, failed: 2, skipped: 40 };
    expect(addSummaries([linux, windows])).toEqual({ passed: 1400, failed: 2, skipped: 43 });
    expect(summaryLines([{ label: 'reports/vitest.json', summary: linux }, { label: 'reports/vitest-windows.json', summary: windows }])).toEqual([
      'reports/vitest.json: 900 passed, 0 failed, 3 skipped',
      'reports/vitest-windows.json: 500 passed, 2 failed, 40 skipped',
      '1400 passed, 2 failed, 43 skipped',
    ]);
    expect(summaryLines([{ label: 'only', summary: linux }])).toEqual(['900 passed, 0 failed, 3 skipped']);
  });

  it('as a command: reads both reports, closes with their sum and fails when either failed or is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmkd-summary-'));
    try {
      const ok = join(dir, 'linux.json');
      const lane = join(dir, 'windows.json');
      writeFileSync(ok, JSON.stringify({ success: true, numPassedTests: 5, numFailedTests: 0, numPendingTests: 1, testResults: [] }));
      writeFileSync(lane, JSON.stringify({ success: true, numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, testResults: [] }));
      const both = spawnSync(process.execPath, [SCRIPT, '--report', ok, '--report', lane], { encoding: 'utf8' });
      expect(both.status).toBe(0);
      expect(both.stdout.trim().split('\n').at(-1)).toBe('8 passed, 0 failed, 1 skipped');
      const missing = spawnSync(process.execPath, [SCRIPT, '--report', ok, '--report', join(dir, 'absent.json')], { encoding: 'utf8' });
      expect(missing.status).toBe(1);
      expect(missing.stdout.trim().split('\n').at(-1)).toBe('5 passed, 1 failed, 1 skipped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
