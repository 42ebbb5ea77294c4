import { Win32 } from './kernel32-pipes.js';
import type { PipeApi } from './kernel32-pipes.js';
import { win32Failure } from './event-waiter.js';

/**
 * A protected DACL with one ACE: full access for the object's owner (OWNER RIGHTS, `OW`). The
 * default DACL of a named pipe lets Everyone read it; VirtualKD's dispatcher makes its pipe
 * open to all (spec §6.3). vmkd restricts the pipe to the user who created it, as its Unix
 * sockets are 0600.
 */
export const OWNER_ONLY_SDDL = 'D:P(A;;GA;;;OW)';

/** `SECURITY_ATTRIBUTES` in native memory, and how to free it once the pipe exists. */
export interface NativeSecurityAttributes {
  readonly pointer: bigint;
  free(): void;
}

export function ownerOnlySecurityAttributes(api: PipeApi, sddl = OWNER_ONLY_SDDL): NativeSecurityAttributes {
  const descriptor: bigint[] = [0n];
  if (api.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, Win32.SDDL_REVISION_1, descriptor, null) === 0) {
    throw win32Failure(api, 'ConvertStringSecurityDescriptorToSecurityDescriptorW');
  }
  const { koffi } = api;
  const pointer = koffi.address(koffi.alloc('uint8_t', Win32.SECURITY_ATTRIBUTES_SIZE));
  const view = new DataView(koffi.view(pointer, Win32.SECURITY_ATTRIBUTES_SIZE));
  view.setUint32(0, Win32.SECURITY_ATTRIBUTES_SIZE, true); // nLength
  view.setUint32(4, 0, true);
  view.setBigUint64(8, descriptor[0] ?? 0n, true); // lpSecurityDescriptor
  view.setUint32(16, 0, true); // bInheritHandle = FALSE
  view.setUint32(20, 0, true);
  return {
    pointer,
    free() {
      api.LocalFree(descriptor[0] ?? 0n);
      koffi.free(pointer);
    },
  };
}
