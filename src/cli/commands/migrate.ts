// txclone migrate: a thin layer over src/migrate. `start` runs the coordinator in the
// foreground; the other subcommands talk to it through requests in the store.
import os from 'node:os';
import { Command } from 'commander';
import { liveMigrate } from '../../migrate/migration';
import type { MigrationStatus } from '../../migrate/status';
import { describeRole, type DatabaseRole } from '../../db/roles';
import { sendControl, type ControlAction } from '../../migrate/control';
import { Journal, type JournalEntry } from '../../migrate/journal';
import { MigrationError } from '../../migrate/errors';
import { primaryIn } from '../../migrate/states';
import { latestMigration, listMigrations } from '../../migrate/registry';
import { CliFailure, EXIT_USAGE, defineCommand, parseIntegerOption } from '../command';
import type { CliContext } from '../context';
import { startProgress, type Progress } from '../progress';

/** Waits for SIGTERM or SIGINT, or for done. */
function untilSignalOr<T>(done: Promise<T>): Promise<{ signal: string } | { value: T }> {
  return new Promise((resolve, reject) => {
    const onTerm = () => finish({ signal: 'SIGTERM' });
    const onInt = () => finish({ signal: 'SIGINT' });
    const finish = (outcome: { signal: string } | { value: T }) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(outcome);
    };
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    done.then((value) => finish({ value }), (err: unknown) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      reject(err);
    });
  });
}

function describe(status: MigrationStatus): string {
  const role = (s: MigrationStatus['source']) =>
    s.role.role === 'clone' ? `clone${s.role.loading ? ', loading' : ''}` : s.role.fence ? `primary, fenced by ${s.role.fence.migration}` : 'primary';
  return (
    `migration ${status.id} of ${status.db}: ${status.phase} (state ${status.state}); primary ${status.primary}, ` +
    `lag ${status.lag} transactions${status.ready ? ' (ready)' : ''}\n` +
    `  source ${status.source.name}: t=${status.source.basisT}, ${role(status.source)}\n` +
    `  target ${status.target.name}: t=${status.target.basisT}, ${role(status.target)}` +
    (status.error ? `\n  last error: ${status.error}` : '')
  );
}

function describeEntry(entry: JournalEntry): string {
  return `${String(entry.seq).padStart(3)} ${entry.at.toISOString()} ${entry.state.padEnd(17)} t=${entry.t ?? '-'}${entry.reason ? `  (${entry.reason})` : ''}  by ${entry.by}`;
}

async function migrationId(ctx: CliContext, given: unknown): Promise<string> {
  if (given !== undefined) return String(given);
  const newest = await latestMigration(ctx.store(), ctx.db);
  if (newest === null) throw new CliFailure(`migrate: database ${ctx.db} in ${ctx.store().location} has no migration`);
  return newest.claim.migration;
}

function parseMs(name: string, value: unknown): number | undefined {
  const n = parseIntegerOption(name, value);
  if (n === 0) throw new CliFailure(`${name}: expected a positive number of milliseconds, got 0`, EXIT_USAGE);
  return n;
}

export function registerMigrateCommand(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('move a database to another while the application keeps writing (a clone, caught up, promoted at a fenced instant)');

  defineCommand(
    migrate
      .command('start')
      .description('start (or resume, with the same --id) a migration and run its coordinator until it ends or SIGINT/SIGTERM')
      .option('--id <id>', 'the migration id ([a-z0-9-]); the same id again resumes it (default: db and the time)')
      .option('--ready-lag <n>', 'ready when the target is at most n transactions behind', '100')
      .option('--cutover-timeout <ms>', 'lift the fence again if the drain takes longer', '5000')
      .option('--cutover-when-ready', 'cut over as soon as the migration is ready')
      .option('--finish-after-cutover', 'finish right after the cutover (no rollback possible afterwards)'),
    ['source', 'target', 'store', 'db', 'maxTxns', 'encryptionKeyFile', 'encryptionKeyId', 'logLevel'],
    async (ctx, options) => {
      const codec = ctx.sealingCodec();
      const readyLag = parseIntegerOption('--ready-lag', options.readyLag);
      const cutoverTimeout = parseMs('--cutover-timeout', options.cutoverTimeout);
      const [source, target] = [await ctx.source(), await ctx.target()];
      let progress: Progress | null = null;
      let lastPhase = '';
      const migration = await liveMigrate({
        source,
        target,
        store: ctx.store(),
        db: ctx.db,
        ...(options.id === undefined ? {} : { id: String(options.id) }),
        ...(readyLag === undefined ? {} : { readyLag }),
        ...(cutoverTimeout === undefined ? {} : { cutoverTimeout }),
        ...(ctx.config.maxTxns === undefined ? {} : { maxTxns: ctx.config.maxTxns }),
        codec,
        logger: ctx.logger,
        onProgress: (status) => {
          if (status.phase === 'copy') {
            const total = status.journal.t ?? status.source.basisT;
            progress ??= startProgress('copy', total, ctx.logger);
            progress.update(Math.min(status.target.basisT, total), Math.max(total, status.target.basisT));
          } else if (progress !== null) {
            progress.stop();
            progress = null;
          }
          if (status.phase !== lastPhase) {
            lastPhase = status.phase;
            ctx.logger.info({ migration: status.id, phase: status.phase, state: status.state, primary: status.primary, lag: status.lag }, `migration ${status.phase}`);
          }
        },
      });
      console.log(`migration ${migration.id}: ${migration.state}; 'txclone migrate status|cutover|abort|rollback|finish --id ${migration.id}' from another terminal`);
      try {
        // A resumed migration may have cut over already.
        if (options.cutoverWhenReady && primaryIn(migration.state) === 'source') {
          const ready = await untilSignalOr(migration.waitReady());
          if ('signal' in ready) return 0;
          const result = await migration.cutover();
          console.log(`cut over at t=${result.t}: ${result.to} is the primary (writes waited ${result.fencedMs} ms)`);
        }
        if (options.finishAfterCutover && primaryIn(migration.state) === 'target') await migration.finish();
        const outcome = await untilSignalOr(migration.done());
        if ('signal' in outcome) {
          console.log(`migration ${migration.id} stopped in state ${migration.state}; run the same command again to resume it`);
          return 0;
        }
        console.log(describe(outcome.value));
        return 0;
      } finally {
        (progress as Progress | null)?.stop();
        await migration.close();
      }
    },
  );

  defineCommand(
    migrate
      .command('status')
      .description("a migration's journal, and with --source and --target where both databases are (basis t, role)")
      .option('--id <id>', 'the migration (default: the newest of --db)')
      .option('--json', 'print JSON'),
    ['store', 'db', 'source', 'target', 'logLevel'],
    async (ctx, options) => {
      const store = ctx.store();
      const id = await migrationId(ctx, options.id);
      const journal = new Journal({ store, db: ctx.db, migration: id, by: '' });
      const entries = await journal.entries();
      if (entries.length === 0) throw new CliFailure(`migrate status: no migration ${id} of ${ctx.db} in ${store.location}`);
      const latest = entries[entries.length - 1]!;
      const databases: Record<string, { basisT: number; role: DatabaseRole }> = {};
      for (const side of ['source', 'target'] as const) {
        if (ctx.config[side] === undefined) continue;
        const database = side === 'source' ? await ctx.source() : await ctx.target();
        databases[side] = { basisT: await database.basisT(), role: await database.role() };
      }
      if (options.json) {
        const migrations = (await listMigrations(store, ctx.db)).map((c) => c.migration);
        console.log(JSON.stringify({ id, db: ctx.db, state: latest.state, journal: entries, migrations, databases }, null, 2));
        return 0;
      }
      console.log(`migration ${id} of ${ctx.db}: ${latest.state}; source ${latest.source}, target ${latest.target}`);
      for (const entry of entries) console.log(describeEntry(entry));
      for (const [side, { basisT, role }] of Object.entries(databases)) console.log(`${side}: t=${basisT}, ${describeRole(role)}`);
      return 0;
    },
  );

  const control = (action: ControlAction, description: string) =>
    defineCommand(
      migrate
        .command(action)
        .description(description)
        .option('--id <id>', 'the migration (default: the newest of --db)')
        .option('--timeout <ms>', "how long to wait for the coordinator's answer", '60000'),
      ['store', 'db', 'logLevel'],
      async (ctx, options) => {
        const id = await migrationId(ctx, options.id);
        const timeoutMs = parseMs('--timeout', options.timeout);
        const reply = await sendControl(ctx.store(), ctx.db, id, action, { by: `${os.hostname()}:${process.pid}`, ...(timeoutMs ? { timeoutMs } : {}) }).catch((err: unknown) => {
          if (err instanceof MigrationError) throw new CliFailure(`migrate ${action}: ${err.message}`);
          throw err;
        });
        if (!reply.ok) throw new CliFailure(`migrate ${action}: ${reply.error}`);
        console.log(`migration ${id}: ${action} done; state ${reply.state}`);
        return 0;
      },
    );
  control('cutover', 'fence the source, drain the target, promote it (asks the running coordinator)');
  control('abort', 'end a migration before its cutover; the source stays as it was');
  control('rollback', 'after a cutover: the same cutover back to the source');
  control('finish', 'end a migration after its cutover; the old source stays a read-only clone');
}
