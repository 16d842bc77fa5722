#!/usr/bin/env node
// Checks that the runtime dependencies in package.json are exactly what the shipped code
// imports: every package that a module under dist/ (or bin/) imports must be a dependency,
// and every dependency must be imported by one of them. Run after the build:
//   node scripts/check-deps.mjs [package-dir]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Dependencies the shipped code needs without importing them by name. Each says why. */
export const NEEDED_NOT_IMPORTED = {
  // (none today: ioredis, pino-pretty and yaml are all imported by name)
};

/** Packages the shipped code imports that are not runtime dependencies on purpose. Each says why. */
export const IMPORTED_NOT_NEEDED = {
  // bin/txclone.mjs loads tsx only when src/ is beside it, that is inside the repository.
  tsx: ['bin/txclone.mjs'],
};

// import x from 'p'; export * from 'p'; import 'p'; import('p'); require('p')
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;
const BUILTIN = new Set(builtinModules);

function filesUnder(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** The package a bare specifier names ('@aws-sdk/client-s3/x' -> '@aws-sdk/client-s3'), or null for a file or a builtin. */
export function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier.startsWith('data:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTIN.has(name) ? null : name;
}

/** Where each package is imported: package name -> files (relative to root). */
export function importedPackages(root) {
  const files = [...filesUnder(path.join(root, 'dist')), ...filesUnder(path.join(root, 'bin'))].filter((f) => /\.(m?js|d\.ts)$/.test(f));
  const found = new Map();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const name = packageOf(match[2]);
      if (!name) continue;
      const rel = path.relative(root, file);
      found.set(name, [...new Set([...(found.get(name) ?? []), rel])]);
    }
  }
  return found;
}

/** Problems with the runtime dependencies of the package at root: empty when they are exact. */
export function checkDependencies(root, exceptions = { neededNotImported: NEEDED_NOT_IMPORTED, importedNotNeeded: IMPORTED_NOT_NEEDED }) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dependencies = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const imported = importedPackages(root);
  const problems = [];
  if (![...imported.values()].some((files) => files.some((f) => f.startsWith('dist')))) {
    problems.push('dist/ holds no module that imports a package: build first (npm run build)');
  }
  for (const [name, files] of [...imported].sort()) {
    if (dependencies.has(name) || name === pkg.name) continue;
    const allowed = exceptions.importedNotNeeded[name] ?? [];
    const unexplained = files.filter((f) => !allowed.includes(f));
    if (unexplained.length > 0) problems.push(`${name} is imported by ${unexplained.join(', ')} but is not in "dependencies"`);
  }
  for (const name of [...dependencies].sort()) {
    if (!imported.has(name) && !(name in exceptions.neededNotImported)) {
      problems.push(`${name} is in "dependencies" but nothing under dist/ or bin/ imports it`);
    }
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const problems = checkDependencies(root);
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-deps: ${p}`);
    process.exit(1);
  }
  console.log(`check-deps: the ${Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies ?? {}).length} runtime dependencies are exactly what dist/ imports`);
}
