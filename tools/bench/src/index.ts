export { runBench, RUN_WORKLOADS, DUMP_SHAPES } from './run-bench.js';
export { EXTRA_CELLS } from './cells/extra-cells.js';
export type { ExtraCell, ExtraCellContext } from './cells/extra-cells.js';
export type { BenchOptions } from './run-bench.js';
export { runBenchCommand } from './bench-command.js';
export type { BenchCommandIo } from './bench-command.js';
export { formatTable, formatCellLine } from './format-table.js';
export { renderMarkdown } from './markdown.js';
export { renderThroughputSvg, renderLatencySvg, escapeXml } from './svg-charts.js';
export { writeBenchOutputs, OUTPUT_FILES } from './write-outputs.js';
export { computeHeadline, computeTargets, HEADLINE_CELL, PACED_CELL } from './targets.js';
export { reportTables, headlineLines, vmExitEstimate, VM_EXIT_COST_US, RPCS_PER_READ } from './report-sections.js';
export type { ReportTable } from './report-sections.js';
export { measureRawLimit, READ_PATTERN, WIRE_BYTES_PER_READ } from './raw-limit.js';
export type { RawLimitOptions } from './raw-limit.js';
export { planMatrix, GUEST_KINDS, GUEST_URIS, ENDPOINT_URIS, SERIAL_BAUD, LINE_BYTES_PER_SECOND } from './matrix.js';
export { histogramOf, summarize, spreadOf, logHistogram } from './stats.js';
export type { SampleHistogram, Spread, Summary } from './stats.js';
export { createProgressBar } from './progress.js';
export type { ProgressBar, ProgressStream } from './progress.js';
export { BenchErrorCode } from './errors.js';
export type {
  AttachReady,
  BenchResult,
  CellResult,
  DumpResult,
  EndpointKind,
  ExtraCellResult,
  GuestKind,
  Headline,
  MachineInfo,
  ProcessRss,
  Radare2Result,
  RawLimitResult,
  RecoveryResult,
  TargetCheck,
  Workload,
} from './result-types.js';
export { cellOverallRate, cellReadRate, limitRate } from './result-types.js';
export { renderReadmeSection, renderDocSection, replaceBetween, runProvenance, README_MARKERS, DOC_MARKERS } from './docs-sections.js';
