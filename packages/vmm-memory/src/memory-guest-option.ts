import { merge, map } from 'rxjs';
import type { GuestOptionProvider, OpenedLink } from '@vmkd/kd-protocol';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createFastPathLink, type FastPathLink } from './fast-path-link.js';
import { openFileSource } from './file-source.js';
import type { MemorySource } from './memory-source.js';
import { openQemuSource } from './qemu-source.js';
import { parseSourceUri, type SourceSpec } from './source-uri.js';

/** Where a wrapped guest keeps its fast path (a symbol: it survives `{ ...opened }` copies). */
const FAST_PATH = Symbol.for('vmkd.vmm-memory.fast-path');

/** The fast path of a guest opened with `?memory=` (or `sim://?ram=`), if it has one. */
export function fastPathOf(opened: OpenedLink): FastPathLink | undefined {
  return (opened as OpenedLink & { [FAST_PATH]?: FastPathLink })[FAST_PATH];
}

async function openSpec(spec: SourceSpec): Promise<MemorySource> {
  if (spec.kind === 'file') return openFileSource(spec.path, spec.layout === undefined ? {} : { layout: spec.layout });
  return openQemuSource(spec.socket, spec.pid === undefined ? {} : { pid: spec.pid });
}

/**
 * `?memory=SOURCE` on any guest URI (registered in `@vmkd/connect`): the guest link wrapped in the
 * memory fast path. Its validation notices and the counters at each change join the guest's
 * notices, so `vmkd route` prints them.
 */
export const memoryGuestOption: GuestOptionProvider<SourceSpec> = {
  key: 'memory',
  summary: 'answer memory reads of the stopped guest from its RAM on the host: file:PATH[,layout=q35] or qemu:QMP_SOCKET',
  parse(value, uri) {
    try {
      return parseSourceUri(value);
    } catch (error) {
      throw uri.bad(isVmkdError(error) ? error.message : String(error));
    }
  },
  async wrap(opened, spec) {
    const source = await openSpec(spec);
    const fast = createFastPathLink(opened.link, source);
    const wrapped: OpenedLink & { [FAST_PATH]: FastPathLink } = {
      ...opened,
      link: fast,
      description: `${opened.description}; memory fast path from ${source.description} (${source.layout.description})`,
      notices$: merge(
        opened.notices$,
        fast.notices$.pipe(
          map((n) => {
            const s = fast.fastPathStats();
            return `[memory] ${n.text} (from the source ${s.bytesFromSource} bytes, through KD ${s.bytesThroughKd}; validations ${s.validationsPassed} passed, ${s.validationsFailed} failed)`;
          }),
        ),
      ),
      async close() {
        await fast.close();
        await opened.close();
      },
      [FAST_PATH]: fast,
    };
    return wrapped;
  },
};
