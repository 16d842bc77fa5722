// The glue between commander and a command: flags for config keys, config loading, the
// context's lifetime, and exit codes.
import { Command, Option } from 'commander';
import { CONFIG_KEYS, flagName, loadConfig, type ConfigKey } from './config';
import type { CliContext } from './context';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure whose message is the whole story: printed without a stack. */
export class CliFailure extends Error {
  override name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export type CommandBody = (ctx: CliContext, options: Record<string, unknown>, args: string[]) => Promise<number | void>;

/** Adds a flag for each config key, and an action that runs body with a context. */
export function defineCommand(command: Command, keys: ConfigKey[], body: CommandBody): Command {
  for (const key of keys) {
    const def = CONFIG_KEYS[key];
    command.addOption(new Option(`${flagName(key)} <value>`, `${def.help} [env ${def.env}]`));
  }
  command.option('--config <file>', 'a JSON or YAML file of settings');
  command.action(async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const options = cmd.opts();
    const args = all.slice(0, -2).filter((a): a is string => typeof a === 'string');
    const config = loadConfig({ flags: options, env: process.env, file: options.config as string | undefined });
    // The context brings the drivers, the stores and the logger: loaded when a command runs, not for --help.
    const { CliContext } = await import('./context');
    const ctx: CliContext = new CliContext(config);
    try {
      const code = await body(ctx, options, args);
      process.exitCode = code ?? EXIT_OK;
    } finally {
      await ctx.close();
    }
  });
  return command;
}

export function parseIntegerOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliFailure(`${name}: expected a whole number, got ${JSON.stringify(value)}`, EXIT_USAGE);
  return n;
}

/** Commander's accumulator for a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
