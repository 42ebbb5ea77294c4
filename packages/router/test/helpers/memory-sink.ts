import type { TraceRecordSink } from '../../src/index.js';

/** A trace sink that keeps records as the JSON lines a file sink would write (bytes and bigints as hex). */
export function memorySink(): TraceRecordSink & { lines(): Record<string, unknown>[]; closed: boolean } {
  const lines: string[] = [];
  const sink = {
    closed: false,
    write(record: object) {
      lines.push(JSON.stringify(record, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value)));
      return true;
    },
    stats: () => ({ records: lines.length, bytes: lines.reduce((n, l) => n + l.length + 1, 0), dropped: 0 }),
    close() {
      sink.closed = true;
      return Promise.resolve();
    },
    lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
  return sink;
}
