import { Command } from 'commander';
import { describeRole, type DatabaseRole } from '../../db/roles';
import type { Database } from '../../db/types';
import { readPosition } from '../../restore/bookkeeping';
import { CliFailure, EXIT_USAGE, defineCommand } from '../command';

export interface Status {
  db: string;
  sourceBasisT: number | null;
  storeHeadT: number | null;
  targetPositionT: number | null;
  /** Source transactions not yet applied (from the source basis, else the store head). */
  lagTransactions: number | null;
  /** Seconds between the last applied source transaction and the next one waiting, 0 when caught up. */
  lagSeconds: number | null;
  /** Each database's role (primary, clone, loading, fenced), when given. */
  sourceRole: DatabaseRole | null;
  targetRole: DatabaseRole | null;
}

/** A clone's position is its basis; a remap replica's, its last-source-transaction. */
async function targetPosition(target: Database, role: DatabaseRole, db: string): Promise<{ position: number; basisT: number }> {
  if (role.cloneOf !== null) {
    const basisT = await target.basisT();
    return { position: basisT, basisT };
  }
  return readPosition(target, db);
}

export function registerStatusCommand(program: Command): void {
  defineCommand(
    program.command('status').description('source basis, store head, target position and lag').option('--json', 'print JSON'),
    ['source', 'store', 'target', 'db', 'logLevel'],
    async (ctx, options) => {
      const status: Status = {
        db: ctx.db, sourceBasisT: null, storeHeadT: null, targetPositionT: null, lagTransactions: null, lagSeconds: null, sourceRole: null, targetRole: null,
      };
      const source = ctx.config.source ? await ctx.source() : null;
      if (source) {
        status.sourceBasisT = await source.basisT();
        status.sourceRole = await source.role();
      }
      if (ctx.config.store) status.storeHeadT = (await ctx.store().head(ctx.db))?.endT ?? 0;
      if (ctx.config.target) {
        const target = await ctx.target();
        status.targetRole = await target.role();
        const at = await targetPosition(target, status.targetRole, ctx.db);
        status.targetPositionT = at.position;
        const newest = status.sourceBasisT ?? status.storeHeadT;
        if (newest !== null) {
          status.lagTransactions = Math.max(0, newest - at.position);
          status.lagSeconds = 0;
          if (status.lagTransactions > 0) {
            // The oldest transaction waiting: from the source when given, else from now.
            let waiting: Date | null = null;
            if (source) for await (const tx of source.txRange(at.position + 1, at.position + 1)) waiting = tx.instant;
            let applied: Date | null = null;
            if (at.basisT > 0 && at.position > 0) for await (const tx of target.txRange(at.basisT, at.basisT)) applied = tx.instant;
            status.lagSeconds = Math.max(0, ((waiting ?? new Date()).getTime() - (applied?.getTime() ?? 0)) / 1000);
            if (!applied) status.lagSeconds = null;
          }
        }
      }
      if (options.json) {
        console.log(JSON.stringify(status));
        return;
      }
      const show = (v: number | null) => (v === null ? '-' : String(v));
      console.log(`database        ${status.db}`);
      if (status.sourceRole) console.log(`source role     ${describeRole(status.sourceRole)}`);
      if (status.targetRole) console.log(`target role     ${describeRole(status.targetRole)}`);
      console.log(`source basis    t=${show(status.sourceBasisT)}`);
      console.log(`store head      t=${show(status.storeHeadT)}`);
      console.log(`target position t=${show(status.targetPositionT)}`);
      console.log(`lag             ${show(status.lagTransactions)} transactions, ${status.lagSeconds === null ? '-' : status.lagSeconds.toFixed(1)} s`);
    },
  );
}

export function registerPromoteCommand(program: Command): void {
  defineCommand(
    program
      .command('promote')
      .description('make a clone a primary that accepts writes (it stops following its source); for a failover or after a migration'),
    ['target', 'logLevel'],
    async (ctx) => {
      const target = await ctx.target();
      const before = await target.role();
      if (before.role !== 'clone') {
        if (before.cloneOf === null) throw new CliFailure(`promote: ${target.location} is not a clone (it is a ${describeRole(before)})`, EXIT_USAGE);
        console.log(`promote: ${target.location} is a primary already (promoted from a clone of ${before.cloneOf})`);
        return 0;
      }
      await target.promote();
      console.log(`promote: ${target.location} was a clone of ${before.cloneOf} at t=${await target.basisT()}; it is a primary now and accepts writes`);
      return 0;
    },
  );
}

