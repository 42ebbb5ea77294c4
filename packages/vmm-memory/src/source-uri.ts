import { VmmMemoryErrorCode, vmmError } from './errors.js';
import type { LayoutChoice } from './file-source.js';

/**
 * A memory source named by URI:
 * - `file:PATH[?layout=linear|q35|pc[&lowmem=SIZE]]`: a QEMU memory-backend file or a VMware .vmem;
 * - `qemu:QMP_SOCKET[?pid=PID]`: a QEMU process, its RAM found over QMP.
 * Options may follow `?` or, inside another URI's query (`sim://?memory=file:/dev/shm/vm.ram,layout=q35`), `,`.
 * SIZE is bytes, hex (`0x80000000`) or with a K/M/G suffix (`2G`).
 */
export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string; readonly layout?: LayoutChoice }
  | { readonly kind: 'qemu'; readonly socket: string; readonly pid?: number };

export function parseSourceUri(uri: string): SourceSpec {
  const m = /^(file|qemu):(.+)$/.exec(uri);
  if (m === null) throw bad(uri, 'expected file:PATH or qemu:QMP_SOCKET');
  const scheme = m[1];
  let rest = m[2];
  let query = '';
  const q = rest.indexOf('?');
  const c = rest.indexOf(',');
  const cut = q >= 0 ? q : c;
  if (cut >= 0) {
    query = rest.slice(cut + 1);
    rest = rest.slice(0, cut);
  }
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw bad(uri, 'the path is empty');
  const options = new Map<string, string>();
  for (const part of query.split(/[&,]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `option "${part}" is not NAME=VALUE`);
    options.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
  }
  const allowed = scheme === 'file' ? ['layout', 'lowmem'] : ['pid'];
  for (const key of options.keys()) if (!allowed.includes(key)) throw bad(uri, `unknown option "${key}" (${scheme}: takes ${allowed.join(', ')})`);
  if (scheme === 'qemu') {
    const pid = options.get('pid');
    if (pid !== undefined && !/^\d+$/.test(pid)) throw bad(uri, `pid "${pid}" is not a number`);
    return pid === undefined ? { kind: 'qemu', socket: path } : { kind: 'qemu', socket: path, pid: Number(pid) };
  }
  const layoutName = options.get('layout');
  const lowmem = options.get('lowmem');
  if (lowmem !== undefined && layoutName !== 'q35' && layoutName !== 'pc') throw bad(uri, 'lowmem= needs layout=q35 or layout=pc');
  if (layoutName === undefined) return { kind: 'file', path };
  if (layoutName === 'linear') return { kind: 'file', path, layout: { kind: 'linear' } };
  if (layoutName === 'q35' || layoutName === 'pc') {
    return {
      kind: 'file',
      path,
      layout: lowmem === undefined ? { kind: 'split', machine: layoutName } : { kind: 'split', machine: layoutName, lowMemory: parseSize(lowmem, uri) },
    };
  }
  throw bad(uri, `layout "${layoutName}" is not linear, q35 or pc`);
}

export function parseSize(text: string, context = text): bigint {
  const m = /^(0x[0-9a-f]+|\d+)([kmg]i?b?)?$/i.exec(text.trim());
  if (m === null) throw bad(context, `size "${text}" is not a number with an optional K/M/G suffix`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const shift = unit === 'k' ? 10n : unit === 'm' ? 20n : unit === 'g' ? 30n : 0n;
  return BigInt(m[1]) << shift;
}

function bad(uri: string, why: string) {
  return vmmError(VmmMemoryErrorCode.BadUri, `memory source "${uri}": ${why}`, { uri });
}
