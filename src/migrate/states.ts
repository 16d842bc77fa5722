// A migration's states and the moves between them. Each move is one journal entry.

/**
 * - `copying`: the target is being loaded (clone restore of the whole history);
 * - `streaming`: the initial copy is done; the target follows the source;
 * - `fenced`: a cutover raised the source's fence and is draining the target;
 * - `cut-over`: the target is the primary; the old source follows it (streamed in reverse);
 * - `unfenced`: a cutover failed or timed out; the source's fence is lifted, it is the primary again;
 * - `rollback-fenced`, `rolled-back`, `rollback-unfenced`: the same three, in the opposite direction;
 * - `aborted`: ended before (or after rolling back) a cutover; the source is the primary;
 * - `finished`: ended after a cutover; the target is the primary, the old source a clone.
 */
export type MigrationState =
  | 'copying'
  | 'streaming'
  | 'fenced'
  | 'cut-over'
  | 'unfenced'
  | 'rollback-fenced'
  | 'rolled-back'
  | 'rollback-unfenced'
  | 'aborted'
  | 'finished';

export const MIGRATION_STATES: readonly MigrationState[] = [
  'copying',
  'streaming',
  'fenced',
  'cut-over',
  'unfenced',
  'rollback-fenced',
  'rolled-back',
  'rollback-unfenced',
  'aborted',
  'finished',
];

/** Which of the two databases accepts writes (or did, until a fence) in a state. */
export type Side = 'source' | 'target';

export function primaryIn(state: MigrationState): Side {
  switch (state) {
    case 'cut-over':
    case 'rollback-fenced':
    case 'rollback-unfenced':
    case 'finished':
      return 'target';
    default:
      return 'source';
  }
}

const MOVES: Record<MigrationState, readonly MigrationState[]> = {
  copying: ['streaming', 'aborted'],
  streaming: ['fenced', 'aborted'],
  fenced: ['cut-over', 'unfenced'],
  unfenced: ['fenced', 'aborted'],
  'cut-over': ['rollback-fenced', 'finished'],
  'rollback-fenced': ['rolled-back', 'rollback-unfenced'],
  'rollback-unfenced': ['rollback-fenced', 'finished'],
  'rolled-back': ['fenced', 'aborted'],
  aborted: [],
  finished: [],
};

export function canMove(from: MigrationState, to: MigrationState): boolean {
  return MOVES[from].includes(to);
}

export function isTerminal(state: MigrationState): boolean {
  return MOVES[state].length === 0;
}

/** A fence is (or may be) up: a coordinator that resumes here must complete or lift it. */
export function isFencing(state: MigrationState): boolean {
  return state === 'fenced' || state === 'rollback-fenced';
}

/** The initial copy is done and the current primary's clone follows it. */
export function isFollowing(state: MigrationState): boolean {
  return state === 'streaming' || state === 'unfenced' || state === 'rolled-back' || state === 'cut-over' || state === 'rollback-unfenced';
}
