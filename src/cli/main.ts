// The txclone command line: a thin layer over the library.
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config';
import { CliFailure, EXIT_FAILURE, EXIT_USAGE } from './command';
import { registerCompactCommand } from './commands/compact';
import { registerDemoCommand } from './commands/demo';
import { registerExportCommands } from './commands/export';
import { registerMigrateCommand } from './commands/migrate';
import { registerReplicateCommand } from './commands/replicate';
import { registerRestoreCommands } from './commands/restore';
import { registerSegmentCommands } from './commands/segments';
import { registerPromoteCommand, registerStatusCommand } from './commands/status';
import { DatabaseOpenError } from '../db/errors';
import { KeyRingError } from '../segment/keyring';
import { InvalidStoreUrlError, InvalidDbNameError } from '../stores/errors';

export function buildProgram(): Command {
  const program = new Command('txclone')
    .description('Replicate a Datomic-style database through its transaction log: segments in a directory or S3, replayed exactly-once into a target.')
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Settings come from flags, then TXCLONE_* environment variables, then --config FILE (JSON or YAML).
Locations are URLs: pglite:DIR, pglite:memory, postgres://user@host:5432/db?schema=NAME;
stores: a directory, file:///dir, s3://bucket/prefix?endpoint=...&region=...&forcePathStyle=true.

Exit codes: 0 success, 1 failure (or differences found), 2 bad usage or configuration.`,
    );
  registerDemoCommand(program);
  registerExportCommands(program);
  registerRestoreCommands(program);
  registerReplicateCommand(program);
  registerStatusCommand(program);
  registerPromoteCommand(program);
  registerSegmentCommands(program);
  registerMigrateCommand(program);
  registerCompactCommand(program);
  program.exitOverride();
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CliFailure) return err.exitCode;
  if (err instanceof ConfigError || err instanceof KeyRingError || err instanceof InvalidStoreUrlError || err instanceof InvalidDbNameError) return EXIT_USAGE;
  if (err instanceof DatabaseOpenError && /invalid database URL/.test(err.message)) return EXIT_USAGE;
  return EXIT_FAILURE;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has printed the usage problem already.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    const verbose = argv.includes('--verbose');
    process.stderr.write(`txclone: ${verbose && err instanceof Error ? err.stack : (err as Error)?.message ?? String(err)}\n`);
    return exitCodeOf(err);
  }
}

process.exitCode = await main(process.argv);
