import { openFileSource } from './file-source.js';
import type { MemorySource } from './memory-source.js';
import { openQemuSource } from './qemu-source.js';
import { parseSourceUri } from './source-uri.js';

/** Opens the memory source a URI names (`file:…`, `qemu:…`; see parseSourceUri). */
export async function openMemorySource(uri: string): Promise<MemorySource> {
  const spec = parseSourceUri(uri);
  if (spec.kind === 'file') return openFileSource(spec.path, spec.layout === undefined ? {} : { layout: spec.layout });
  return openQemuSource(spec.socket, spec.pid === undefined ? {} : { pid: spec.pid });
}
