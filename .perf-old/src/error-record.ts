import { isVmkdError } from '@vmkd/kd-protocol';
import type { ErrorRecord } from './route-events.js';

/** `{ code, message }` of anything thrown, for events and JSONL (a VmkdError keeps its stable code). */
export function errorRecord(error: unknown): ErrorRecord {
  if (isVmkdError(error)) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    return { code: typeof code === 'string' ? code : 'ERR_UNKNOWN', message: error.message };
  }
  return { code: 'ERR_UNKNOWN', message: String(error) };
}
