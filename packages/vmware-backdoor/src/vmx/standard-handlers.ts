import type { GuestInfoStore, RpciHandler } from './types.js';

export type { GuestInfoStore } from './types.js';

interface Registrar {
  register(name: string, handler: RpciHandler): () => void;
}

const text = new TextDecoder('utf-8');
const GUESTINFO = 'guestinfo.';

function guestInfoKey(raw: string): string | undefined {
  if (raw.length <= GUESTINFO.length || raw.slice(0, GUESTINFO.length).toLowerCase() !== GUESTINFO) return undefined;
  return raw.slice(GUESTINFO.length).toLowerCase();
}

/**
 * The RPCs a VMware guest's own tools use, answered the way a VMware host answers them
 * (vmware-backdoor spec §4.6): `info-get`/`info-set guestinfo.*`, `log`, and the registrations
 * vmtoolsd makes at start-up, which VMware acknowledges with an empty success reply.
 */
export function installStandardHandlers(vmx: Registrar, store: GuestInfoStore, log: (line: string) => void): void {
  vmx.register('info-get', (args) => {
    const key = guestInfoKey(text.decode(args).replace(/\0+$/, ''));
    const value = key === undefined ? undefined : store.get(key);
    return value === undefined ? { ok: false, reply: 'No value found' } : value;
  });

  vmx.register('info-set', (args) => {
    const line = text.decode(args).replace(/\0+$/, '');
    const space = line.indexOf(' ');
    if (space < 0) return { ok: false, reply: 'Two and exactly two arguments expected' };
    const key = guestInfoKey(line.slice(0, space));
    if (key === undefined) return { ok: false, reply: 'Invalid key' };
    store.set(key, line.slice(space + 1));
    return '';
  });

  vmx.register('log', (args) => {
    log(text.decode(args).replace(/\0+$/, ''));
    return '';
  });

  for (const name of [
    'tools.capability.*',
    'tools.set.version',
    'tools.set.versiontype',
    'tools.os.statechange.status',
    'SetGuestInfo',
    'guest.upgrader_send_cmd_line_args',
  ]) {
    vmx.register(name, () => '');
  }
}
