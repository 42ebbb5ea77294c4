/** What a trace sink reports about itself (the file sink adds buffer figures). */
export interface TraceSinkStats {
  /** Records written (or in the write in flight). */
  readonly records: number;
  readonly bytes: number;
  /** Records lost (buffer full, sink failed); a lossy sink says so here. */
  readonly dropped: number;
}

/**
 * Where a route's (or a relay's) records go, one object at a time. The router never opens files:
 * the CLI's JSONL file writer is one sink, an array in a test is another. `write` must not block or
 * throw; a sink that cannot keep up drops and counts (a stalled disk must not stall KD traffic).
 */
export interface TraceRecordSink {
  write(record: object): boolean | void;
  stats?(): TraceSinkStats;
  /** Called once when the route closes: flush and release. */
  close?(): Promise<void>;
}
