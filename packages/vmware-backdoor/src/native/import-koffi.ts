import type * as Koffi from 'koffi';
import { NativeErrorCode, nativeError } from './errors.js';

export type KoffiModule = typeof Koffi;

let koffiPromise: Promise<KoffiModule> | undefined;

/**
 * koffi, imported on first use only. Importing this package must never load native code (the
 * house style's lazy-native rule): every path to koffi goes through here.
 */
export function importKoffi(): Promise<KoffiModule> {
  koffiPromise ??= import('koffi').then(
    (module) => (module as unknown as { default?: KoffiModule }).default ?? module,
    (cause: unknown) => {
      koffiPromise = undefined;
      throw nativeError(NativeErrorCode.LoadFailed, 'cannot load koffi (is the @koromix/koffi platform package installed?)', undefined, cause);
    },
  );
  return koffiPromise;
}
