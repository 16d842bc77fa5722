#!/usr/bin/env node
// Builds the package: tsc compiles src/ to dist/ (ESM JavaScript, declarations, source maps),
// then every relative import in dist/ gets the file it names ('./db' becomes './db/index.js').
// The sources import without extensions (moduleResolution Bundler, run through tsx and vitest);
// Node's ESM loader, and TypeScript consumers on node16/nodenext resolution, need them written.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
} catch {
  console.error('build: tsc failed (errors above)');
  process.exit(1);
}

// `from './x'`, `import './x'`, `import('./x')` in .js and .d.ts files.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

function resolveSpecifier(file, spec) {
  if (/\.(m?js|json)$/.test(spec)) return spec;
  const target = path.resolve(path.dirname(file), spec);
  if (existsSync(`${target}.js`)) return `${spec}.js`;
  if (existsSync(path.join(target, 'index.js'))) return `${spec}/index.js`;
  throw new Error(`build: ${path.relative(root, file)} imports ${spec}, which names no module in dist/`);
}

let rewritten = 0;
for (const file of files(dist)) {
  if (!file.endsWith('.js') && !file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const next = text.replace(SPECIFIER, (_all, head, quote, spec) => `${head}${quote}${resolveSpecifier(file, spec)}${quote}`);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten += 1;
  }
}
console.log(`build: dist/ written (${rewritten} files with relative imports completed)`);
