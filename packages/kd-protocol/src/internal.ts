/**
 * `@vmkd/kd-protocol/internal`: building blocks kd-protocol's own modules and tests share and a
 * sibling package may need; not a stable API (no semver promise beyond the monorepo).
 */
export type { Family, FamilyInit, FamilyMessage } from './api/family.js';
export { ansiBytes } from './api/io.js';
export type { FieldSpec, FieldType, FieldsOf, Layout } from './api/struct.js';
export { GET_VERSION64_LAYOUT } from './api/version.js';
export { BAD_FRAME_CODES } from './kdcom/errors.js';
export { encodeDataFrameAround } from './kdcom/frame-encoder.js';
export type { KdcomMachineOptions, KdcomMachineOutput } from './kdcom/link-machine.js';
export { badLength, kdrpcError } from './kdrpc/errors.js';
export { sessionError } from './session/errors.js';
export { breakInStop } from './session/state-change-builder.js';
export type { PlantedBreakpoint } from './session/state-change-builder.js';
