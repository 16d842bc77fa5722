#!/usr/bin/env node
// The package as a user gets it: npm pack, then in a new project outside the repository,
// install the tarball with production dependencies only and
//   - run the README's library example (plain JavaScript) against the installed package,
//   - type-check a TypeScript consumer against the installed declarations,
//   - run `npx txclone demo --transactions 500`.
// Fails (exit 1) on any error. Run by .ci/run and by test/package/package.test.ts.
//   node scripts/check-package.mjs [--keep]   (--keep leaves the project for a look)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDependencies } from './check-deps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), 'txclone-package-'));
const project = path.join(work, 'project');

class CheckFailure extends Error {}

// What `npm test` or `npm run` put in the environment describes this repository, not the new project.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_package_|npm_lifecycle_|npm_config_(omit|include|prefix|global)$|INIT_CWD$)/.test(k)));

function run(step, command, args, options = {}) {
  const t0 = Date.now();
  const result = spawnSync(command, args, { cwd: options.cwd ?? project, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000 });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    throw new CheckFailure(`${step}: ${command} ${args.join(' ')} failed (${why}) after ${seconds} s\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
  console.log(`check-package: ${step}: ok (${seconds} s)`);
  return result.stdout;
}

/** The README's library example: the js block after the marker that names this script. */
export function readmeExample(readme) {
  const marker = readme.indexOf('<!-- scripts/check-package.mjs runs this example');
  if (marker < 0) throw new CheckFailure('README.md: no example marked for the package check');
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(marker));
  if (!block) throw new CheckFailure('README.md: no ```js block after the package check marker');
  return block[1];
}

const CONSUMER = `// A TypeScript user of the installed package: types come from its declarations.
import {
  compareReplica, exportAll, openDatabase, openStore, restoreAll, continuousRestore, LibraryWorkload,
  TransactionError, SegmentGapError,
  type CompareResult, type Database, type ExportResult, type RestoreTotals, type SegmentStore, type TxOp,
} from 'txclone';

const ops: TxOp[] = [[':db/add', 'a', ':db/ident', ':thing/a']];
async function copy(source: Database, target: Database, store: SegmentStore): Promise<boolean> {
  const exported: ExportResult = await exportAll(source, store, 'main', { maxTxns: 100 });
  const totals: RestoreTotals = await restoreAll(target, store, 'main', { batchTxns: 50 });
  const result: CompareResult = await compareReplica(source, target);
  await source.transact(ops);
  const workload = new LibraryWorkload({ seed: 1 });
  void workload;
  void continuousRestore;
  return result.equal && exported.transactions >= 0 && totals.toT >= 0;
}
async function main(): Promise<void> {
  const db = await openDatabase('pglite:memory');
  const store = openStore('./segments');
  try {
    console.log(await copy(db, db, store));
  } catch (err) {
    if (err instanceof TransactionError || err instanceof SegmentGapError) console.error(err.message);
  }
  // @ts-expect-error: openDatabase wants a URL string
  await openDatabase(42);
}
void main;
`;

try {
  // 1. The tarball (npm pack runs prepack: the build).
  const packOutput = run('npm pack (prepack: the build)', 'npm', ['pack', '--json', '--pack-destination', work], { cwd: root, timeoutMs: 600_000 });
  // The build's lines come first on stdout, then npm's JSON.
  const packed = JSON.parse(packOutput.slice(packOutput.search(/^\[/m)))[0];
  const tarball = path.join(work, packed.filename);
  console.log(`check-package: ${packed.filename}: ${(packed.size / 1024).toFixed(0)} KB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KB unpacked, ${packed.entryCount} files`);
  const stray = packed.files.map((f) => f.path).filter((p) => !/^(dist\/|bin\/|README\.md$|LICENSE$|package\.json$)/.test(p));
  if (stray.length > 0) throw new CheckFailure(`the tarball holds files outside the whitelist: ${stray.join(', ')}`);
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'bin/txclone.mjs', 'LICENSE', 'README.md']) {
    if (!packed.files.some((f) => f.path === needed)) throw new CheckFailure(`the tarball lacks ${needed}`);
  }

  // 2. Runtime dependencies are exactly what dist/ imports.
  const problems = checkDependencies(root);
  if (problems.length > 0) throw new CheckFailure(`dependencies:\n  ${problems.join('\n  ')}`);
  console.log('check-package: dependencies: exactly what dist/ imports');

  // 3. A new project, outside the repository, with production dependencies only.
  mkdirSync(project);
  const repoPackage = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'txclone-package-check', version: '1.0.0', private: true, type: 'module', allowScripts: repoPackage.allowScripts }, null, 2),
  );
  run('npm install --omit=dev', 'npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { timeoutMs: 600_000 });
  const installed = path.join(project, 'node_modules');
  if (existsSync(path.join(installed, 'txclone', 'src'))) throw new CheckFailure('the installed package holds src/');
  for (const devOnly of ['tsx', 'typescript', 'vitest']) {
    if (existsSync(path.join(installed, devOnly))) throw new CheckFailure(`a production install brought ${devOnly}: something depends on it at run time`);
  }

  // 4. The README's example, as written, in plain JavaScript.
  writeFileSync(path.join(project, 'example.mjs'), readmeExample(readFileSync(path.join(root, 'README.md'), 'utf8')));
  process.stdout.write(run('README example', 'node', ['example.mjs']).replace(/^/gm, '  | '));

  // 5. A TypeScript consumer against the installed declarations (the repository's compiler and Node types).
  writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        // skipLibCheck as most projects have it (checking every dependency's declarations takes a
        // minute); a relative import in dist/*.d.ts that NodeNext cannot resolve still fails here,
        // as a name the consumer imports goes missing.
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
        typeRoots: [path.join(root, 'node_modules/@types')], types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  run('tsc on a TypeScript consumer', process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);

  // 6. The command, installed.
  const demo = run('npx txclone demo --transactions 500', 'npx', ['--no', 'txclone', 'demo', '--transactions', '500'], { timeoutMs: 600_000 });
  process.stdout.write(demo.replace(/^/gm, '  | '));
  run('npx txclone --help', 'npx', ['--no', 'txclone', '--help']);

  console.log(`check-package: passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`check-package: FAILED: ${err instanceof CheckFailure ? err.message : err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`check-package: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
