import { fileURLToPath } from 'node:url';

/** Node flags a child needs to run this package the same way this process does (sources need tsx). */
export function childNodeArgs(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', 'tsx', '--conditions=@vmkd/source'] : [];
}

/** The path of a script beside this file, in the same form (.ts or .js) as this file. */
export function childScriptPath(name: string): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${extension}`, import.meta.url));
}
