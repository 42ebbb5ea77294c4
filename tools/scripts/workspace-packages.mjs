// The workspace's packages as npm sees them (the root package.json's `workspaces` globs), so
// scripts and tests follow packages as they are added instead of keeping their own list.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The path of an installed package's bin script, as `npx <name>` would run it (without npx). */
export function binOf(pkg, name) {
  const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin[name]);
}

/** Expands one workspace entry: a directory, or a directory ending in `/*` (the forms npm accepts here). */
function expand(root, pattern) {
  if (!pattern.endsWith('/*')) return [join(root, pattern)];
  const base = join(root, pattern.slice(0, -2));
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(base, entry.name))
    .sort();
}

/** Every workspace package: `{ name, version, dir, private, manifest }`. */
export function workspacePackages(root = REPO_ROOT) {
  const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const patterns = Array.isArray(workspaces) ? workspaces : (workspaces.packages ?? []);
  const packages = [];
  for (const pattern of patterns) {
    for (const dir of expand(root, pattern)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      packages.push({ name: manifest.name, version: manifest.version, dir: relative(root, dir), private: manifest.private === true, manifest });
    }
  }
  return packages;
}

/** The packages that get published: every workspace package not marked private. */
export function publishablePackages(root = REPO_ROOT) {
  return workspacePackages(root).filter((p) => !p.private);
}
