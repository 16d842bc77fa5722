// scripts/check-deps.mjs against small packages built here: it must name an import that is
// not a dependency and a dependency nothing imports, and pass an exact package.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDependencies, packageOf } from '../../scripts/check-deps.mjs';

const none = { neededNotImported: {}, importedNotNeeded: {} };
const dirs: string[] = [];

function fakePackage(dependencies: Record<string, string>, files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'txclone-deps-'));
  dirs.push(root);
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'fake', dependencies }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('check-deps', () => {
  it('passes when the dependencies are exactly what dist/ imports, in every form of import', () => {
    const root = fakePackage(
      { zod: '^4', '@aws-sdk/client-s3': '^3', yaml: '^2', pg: '^8' },
      {
        'dist/a.js': "import { z } from 'zod';\nimport { readFileSync } from 'node:fs';\nimport path from 'path';\nexport * from './b.js';\n",
        'dist/b.js': "const s3 = await import('@aws-sdk/client-s3/dist-cjs/index.js');\nconst y = require('yaml');\n",
        'dist/c.d.ts': "import type { Pool } from 'pg';\n",
      },
    );
    expect(checkDependencies(root, none)).toEqual([]);
  });

  it('names a package that dist/ imports but that is not a dependency, and the file', () => {
    const root = fakePackage({ zod: '^4' }, { 'dist/a.js': "import 'zod';\nconst y = await import('yaml');\n" });
    expect(checkDependencies(root, none)).toEqual(['yaml is imported by dist/a.js but is not in "dependencies"']);
  });

  it('names a dependency that nothing imports, unless it is listed as needed', () => {
    const root = fakePackage({ zod: '^4', ioredis: '^6' }, { 'dist/a.js': "import 'zod';\n" });
    expect(checkDependencies(root, none)).toEqual(['ioredis is in "dependencies" but nothing under dist/ or bin/ imports it']);
    expect(checkDependencies(root, { ...none, neededNotImported: { ioredis: 'peer of bullmq' } })).toEqual([]);
  });

  it('refuses a package with nothing built', () => {
    const root = fakePackage({ zod: '^4' }, { 'bin/x.mjs': "import 'zod';\n" });
    expect(checkDependencies(root, none)).toContain('dist/ holds no module that imports a package: build first (npm run build)');
  });

  it('reads package names from specifiers', () => {
    expect(packageOf('@aws-sdk/client-s3/x')).toBe('@aws-sdk/client-s3');
    expect(packageOf('tsx/esm/api')).toBe('tsx');
    expect(packageOf('node:fs')).toBeNull();
    expect(packageOf('fs/promises')).toBeNull();
    expect(packageOf('./x.js')).toBeNull();
  });
});
