// The package as a user installs it: scripts/check-package.mjs packs it, installs the tarball
// with production dependencies into a new project outside the repository, runs the README's
// library example, type-checks a TypeScript consumer and runs `npx txclone demo`. It takes a
// few minutes (a build, an install from the npm cache or registry, two PGlite databases).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

describe('the npm package', () => {
  it('installs, imports, type-checks and runs with production dependencies only', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts/check-package.mjs')], { cwd: root, encoding: 'utf8', timeout: 900_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(output, output).toMatch(/check-package: passed in \d+ s/);
    expect(result.status, output).toBe(0);
    expect(output).toMatch(/txclone-0\.1\.0\.tgz: \d+ KB packed, \d+ KB unpacked, \d+ files/);
    expect(output).toContain('equal: true');
    expect(output).toMatch(/verify +equal/);
  }, 900_000);
});
