// A database's role, kept in its meta row so that every process sees it: a primary accepts
// transactions; a clone follows one source and refuses them until promoted; a fence set by a
// migration makes a primary refuse them too.
import { DatabaseFencedError, ReadOnlyCloneError } from './errors';

/** A migration's fence: names only, never credentials. */
export interface Fence {
  migration: string;
  newPrimary: string;
}

export interface DatabaseRole {
  role: 'primary' | 'clone';
  /** The store database a clone follows (kept after promotion: where it came from); null for a database that never was a clone. */
  cloneOf: string | null;
  /** A clone whose initial load has not built its indexes yet: it answers no reads of current datoms. */
  loading: boolean;
  /** Set by a migration on the primary it moves away from. */
  fence: Fence | null;
}

/** The meta row's role columns. */
export interface RoleRow {
  role: string;
  clone_of: string | null;
  loading: boolean;
  fence: string | null;
}

export function roleOf(row: RoleRow): DatabaseRole {
  return {
    role: row.role === 'clone' ? 'clone' : 'primary',
    cloneOf: row.clone_of,
    loading: row.loading,
    fence: row.fence ? (JSON.parse(row.fence) as Fence) : null,
  };
}

/** Throws when the database refuses ordinary transactions. Runs before anything is written. */
export function assertWritable(row: RoleRow, location: string): void {
  const role = roleOf(row);
  if (role.role === 'clone') {
    throw new ReadOnlyCloneError(
      `${location} is a clone of ${JSON.stringify(role.cloneOf)}: it accepts only the source's log; promote it to write to it`,
    );
  }
  if (role.fence) throw new DatabaseFencedError(location, role.fence.migration, role.fence.newPrimary);
}

/** How status shows a role: "primary", "clone of lib", "clone of lib (loading)", "primary (fenced by m1)". */
export function describeRole(role: DatabaseRole): string {
  if (role.role === 'clone') return `clone of ${role.cloneOf}${role.loading ? ' (loading: indexes not built yet)' : ''}`;
  return role.fence ? `primary (fenced by migration ${role.fence.migration}; new primary ${role.fence.newPrimary})` : 'primary';
}
