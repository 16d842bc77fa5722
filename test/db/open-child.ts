// Run by open.test.ts as a second process: opens a database and reports on stdout, one JSON
// line. With "hold" it first writes a transaction, then keeps the database open until its
// stdin ends (or it is killed).
import { openDatabase } from '../../src/db/open';

const [url, mode] = process.argv.slice(2) as [string, string | undefined];
try {
  const db = await openDatabase(url);
  if (mode === 'hold') await db.transact([{ ':db/doc': `written by ${process.pid}` }]);
  process.stdout.write(`${JSON.stringify({ opened: true, pid: process.pid, basisT: await db.basisT() })}\n`);
  if (mode === 'hold') {
    await new Promise((resolve) => {
      process.stdin.on('end', resolve);
      process.stdin.resume();
    });
  }
  await db.close();
} catch (err) {
  process.stdout.write(`${JSON.stringify({ opened: false, name: (err as Error).name, message: (err as Error).message })}\n`);
  process.exitCode = 1;
}
