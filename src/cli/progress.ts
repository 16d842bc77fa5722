// Long work shows progress: a bar on a TTY, a structured log line every few seconds otherwise.
import cliProgress from 'cli-progress';
import type { Logger } from '../logger';

export interface Progress {
  update(value: number, total?: number): void;
  stop(): void;
}

export function startProgress(label: string, total: number, logger: Logger, unit = 'transactions'): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label.padEnd(9)} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0);
    return {
      update: (value, newTotal) => {
        if (newTotal !== undefined) bar.setTotal(Math.max(newTotal, 1));
        bar.update(value);
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let current = 0;
  let max = total;
  return {
    update: (value, newTotal) => {
      current = value;
      if (newTotal !== undefined) max = newTotal;
      if (Date.now() - last >= 2000) {
        last = Date.now();
        logger.info({ task: label, done: current, total: max, unit }, 'progress');
      }
    },
    stop: () => logger.info({ task: label, done: current, total: max, unit }, 'done'),
  };
}
