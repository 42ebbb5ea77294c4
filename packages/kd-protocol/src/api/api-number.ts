import { MANIPULATE_HEADER } from './manipulate.js';

/**
 * Every ApiNumber-led structure (DBGKD_MANIPULATE_STATE64, DEBUG_IO, TRACE_IO, FILE_IO,
 * CONTROL_REQUEST; spec 2.1, 2.7) starts with its u32 ApiNumber at the same offset.
 */
const API_NUMBER = MANIPULATE_HEADER.apiNumber.offset;

/**
 * The ApiNumber of such a payload, read without decoding the rest: for hot paths (the router
 * routes every packet by it). Undefined when the payload is too short to hold one.
 */
export function peekApiNumber(payload: Uint8Array): number | undefined {
  if (payload.length < API_NUMBER + 4) return undefined;
  return (payload[API_NUMBER] | (payload[API_NUMBER + 1] << 8) | (payload[API_NUMBER + 2] << 16) | (payload[API_NUMBER + 3] << 24)) >>> 0;
}
