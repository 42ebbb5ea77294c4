// The house rules a reviewer would otherwise check by hand (architecture.md §3, house-style §2.12):
// every entry point names what it publishes (no `export *`), no import circles between files of a
// package or between packages, and only `connect`, `cli` and the bench import a transport package.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, workspacePackages } from './workspace-packages.mjs';

/** Packages that carry one transport or endpoint; only the wiring packages may import them. */
const TRANSPORTS = ['@vmkd/serial-fallback', '@vmkd/vmware-backdoor', '@vmkd/kdnet', '@vmkd/dbgeng-pipe', '@vmkd/gdb-remote', '@vmkd/vmm-memory'];
const WIRING = ['@vmkd/connect', '@vmkd/cli', '@vmkd/bench'];

const packages = workspacePackages();

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Module specifiers of a file's static imports and re-exports (type-only ones included: a type circle is still a circle). */
function specifiers(text) {
  const found = [];
  const pattern = /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(pattern)) found.push(m[1]);
  return found;
}

/** Module specifiers of a file's re-exports (`export … from`). */
function reexports(text) {
  return [...text.matchAll(/(?:^|[\n;])\s*export\s+(?:type\s+)?[\w*{}\s,$]*?\sfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

/** The source file a relative specifier names (`./x.js` is `./x.ts` in source). */
function resolveRelative(from, specifier) {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every cycle in a graph given as Map<node, Set<node>>, each as its node list (Tarjan's strongly connected components). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const indices = new Map();
  const low = new Map();
  const found = [];
  const visit = (v) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
    }
    if (low.get(v) === indices.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

/** The source entry points a package publishes (its exports map, `@vmkd/source` condition). */
function entryPoints(p) {
  const entries = [];
  for (const [subpath, target] of Object.entries(p.manifest.exports ?? {})) {
    const source = typeof target === 'object' && target !== null ? target['@vmkd/source'] : undefined;
    if (typeof source === 'string') entries.push({ subpath, file: join(REPO_ROOT, p.dir, source) });
  }
  return entries;
}

/**
 * Entry points still being converted to explicit exports by a change in flight (none now). Such a
 * package is checked as soon as its entry no longer uses `export *` (the exception then ends by itself).
 */
const EXPLICIT_EXPORTS_IN_PROGRESS = new Set([]);

describe('package layers', () => {
  it('finds the packages and their entry points', () => {
    expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(['@vmkd/kd-protocol', '@vmkd/connect', '@vmkd/cli', ...TRANSPORTS]));
    expect(packages.flatMap(entryPoints).length).toBeGreaterThan(packages.length);
  });

  describe.each(packages.map((p) => [p.name, p]))('%s', (name, p) => {
    const entries = entryPoints(p);
    const barrels = entries.filter((e) => /^\s*export\s+(?:type\s+)?\*/m.test(readFileSync(e.file, 'utf8')));
    const pending = EXPLICIT_EXPORTS_IN_PROGRESS.has(name) && barrels.length > 0;

    it.skipIf(pending)(`every entry point names what it publishes (no export *)${pending ? ' (skipped: its explicit entry point is being written in another change)' : ''}`, () => {
      // Including the files an entry point re-exports from: a named re-export of an `export *` barrel publishes the barrel.
      const offenders = [];
      const seen = new Set();
      const walk = (file) => {
        if (seen.has(file)) return;
        seen.add(file);
        const text = readFileSync(file, 'utf8');
        if (/^\s*export\s+(?:type\s+)?\*/m.test(text)) offenders.push(relative(REPO_ROOT, file));
        for (const s of reexports(text)) {
          const target = s.startsWith('.') ? resolveRelative(file, s) : undefined;
          if (target !== undefined) walk(target);
        }
      };
      for (const e of entries) walk(e.file);
      expect(offenders).toEqual([]);
    });

    it('has no import circles between its files', () => {
      const graph = new Map();
      for (const file of sourceFiles(join(REPO_ROOT, p.dir))) {
        const edges = new Set();
        for (const s of specifiers(readFileSync(file, 'utf8'))) {
          if (!s.startsWith('.')) continue;
          const target = resolveRelative(file, s);
          if (target !== undefined) edges.add(relative(REPO_ROOT, target));
        }
        graph.set(relative(REPO_ROOT, file), edges);
      }
      expect(cycles(graph)).toEqual([]);
    });

    it('imports only packages it declares, and a transport only if it wires transports', () => {
      const declared = new Set(Object.keys({ ...p.manifest.dependencies, ...p.manifest.devDependencies, ...p.manifest.peerDependencies, ...p.manifest.optionalDependencies }));
      const undeclared = [];
      const transports = [];
      for (const file of sourceFiles(join(REPO_ROOT, p.dir))) {
        for (const s of specifiers(readFileSync(file, 'utf8'))) {
          if (!s.startsWith('@vmkd/')) continue;
          const pkg = s.split('/').slice(0, 2).join('/');
          if (pkg === name) continue;
          if (!declared.has(pkg)) undeclared.push(`${relative(REPO_ROOT, file)} → ${pkg}`);
          if (TRANSPORTS.includes(pkg) && !WIRING.includes(name)) transports.push(`${relative(REPO_ROOT, file)} → ${pkg}`);
        }
      }
      expect(undeclared).toEqual([]);
      expect(transports, 'a transport is wired in connect (its scheme provider), cli or the bench, not imported by a sibling').toEqual([]);
    });
  });

  it('has no circles between packages (dependencies and devDependencies)', () => {
    const names = new Set(packages.map((p) => p.name));
    const graph = new Map(packages.map((p) => [p.name, new Set(Object.keys({ ...p.manifest.dependencies, ...p.manifest.devDependencies }).filter((d) => names.has(d)))]));
    expect(cycles(graph)).toEqual([]);
  });
});
