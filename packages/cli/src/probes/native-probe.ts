/**
 * Child-process probe for `vmkd doctor`: can this machine load the native parts vmkd uses?
 * Run in a child because loading a native addon can crash a process.
 * Prints one JSON line: `{ koffi: {ok, version|reason}, serialport: {ok, reason?} }`.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

interface Loaded {
  ok: boolean;
  version?: string;
  reason?: string;
}

const require = createRequire(import.meta.url);

async function load(fromPackage: string, specifier: string, check: (mod: Record<string, unknown>) => string | undefined): Promise<Loaded> {
  try {
    // Resolve from the package that really depends on the addon, as it would at run time.
    const base = createRequire(require.resolve(`${fromPackage}/package.json`));
    const mod = (await import(pathToFileURL(base.resolve(specifier)).href)) as Record<string, unknown>;
    const version = check((mod['default'] as Record<string, unknown> | undefined) ?? mod);
    return version === undefined ? { ok: true } : { ok: true, version };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

const koffi = await load('@vmkd/vmware-backdoor', 'koffi', (mod) => {
  if (typeof mod['load'] !== 'function') throw new Error('koffi loaded without its API');
  return typeof mod['version'] === 'string' ? mod['version'] : undefined;
});
const serialport = await load('@vmkd/serial-fallback', 'serialport', (mod) => {
  if (typeof mod['SerialPort'] !== 'function') throw new Error('serialport loaded without SerialPort');
  return undefined;
});
process.stdout.write(`${JSON.stringify({ koffi, serialport })}\n`);
