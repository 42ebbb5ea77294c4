import type { KernelModule } from '../kernel/kernel-walk.js';

/**
 * The `qXfer:libraries:read` document (gdb manual, "Library List Format"): one library per loaded
 * kernel module with its image base as a segment address, which is what `info sharedlibrary`
 * lists and where gdb loads a module's symbols when the file is found on the solib search path.
 */
export function librariesXml(modules: readonly KernelModule[]): string {
  let xml = '<library-list>\n';
  for (const m of modules) {
    xml += `  <library name="${escapeXml(m.name)}"><segment address="0x${m.base.toString(16)}"/></library>\n`;
  }
  return `${xml}</library-list>\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
