export { runCli } from './program.js';
export type { CliIo, CliStream } from './output/cli-io.js';
export { createProcessIo } from './output/cli-io.js';
export { CliErrorCode, exitCodeFor } from './errors.js';
export { diagnose, type DoctorReport, type DoctorCheck, type SchemeSupport } from './commands/doctor.js';
