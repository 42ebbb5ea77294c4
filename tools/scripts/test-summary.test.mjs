import { describe, expect, it } from 'vitest';
import { formatSummary, summarize } from './test-summary.mjs';

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
});
