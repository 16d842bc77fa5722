#!/usr/bin/env node
// The txclone command. Installed from npm, the package holds dist/ (compiled JavaScript) and
// no src/: that is what runs. Inside the repository, src/ is there and runs through tsx (a
// development dependency), so `npm run demo`, `npx txclone`, the tests and the benches need
// no build step and never run a stale dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
