// Start-up of the installed command: `txclone --help` from dist/ (what npm users run), beside
// `node -e 0` (Node's own start-up) and the repository's way (src/ through tsx), alternated.
//   npm run build && npx tsx bench/startup.ts [runs]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 20);
if (!existsSync(path.join(root, 'dist/cli/main.js'))) {
  console.error('bench/startup: dist/ is not built: run `npm run build` first');
  process.exit(1);
}

const commands: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'txclone --help (dist/, as installed)': [path.join(root, 'dist/cli/main.js'), '--help'],
  'txclone --help (src/ through tsx, in the repository)': [path.join(root, 'bin/txclone.mjs'), '--help'],
};
const times = new Map<string, number[]>(Object.keys(commands).map((name) => [name, []]));
for (let i = 0; i < runs + 1; i += 1) {
  for (const [name, args] of Object.entries(commands)) {
    const t0 = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (result.status !== 0) throw new Error(`${name}: exit ${result.status}`);
    if (i > 0) times.get(name)!.push(ms); // the first round warms the file cache
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of times) {
  console.log(`${name.padEnd(56)} median ${median(xs).toFixed(0).padStart(5)} ms   min ${Math.min(...xs).toFixed(0).padStart(5)} ms   (${xs.length} runs)`);
}
