// Random workloads for the property tests: fast-check generates abstract commands (with
// integer picks and a value of every type), and interpret() turns them into transaction
// data against the model's state just before they run, so that they name entities,
// attributes and values that exist (and, on purpose, sometimes ones that do not).
import fc from 'fast-check';
import type { EntityId, TxOp, TxRequest, Value, ValueType } from '../../src/db/types';
import type { Model } from './model';

export interface AttributeDef {
  ident: string;
  type: ValueType;
  many?: boolean;
  unique?: 'identity' | 'value';
  component?: boolean;
  tupleType?: ValueType;
  tupleTypes?: ValueType[];
  tupleAttrs?: string[];
}

/** The attributes a workload may install, in any order (a composite brings its sources). */
export const POOL: readonly AttributeDef[] = [
  { ident: ':w/name', type: 'string', unique: 'identity' },
  { ident: ':w/code', type: 'long', unique: 'value' },
  { ident: ':w/label', type: 'string' },
  { ident: ':w/tags', type: 'string', many: true },
  { ident: ':w/count', type: 'long' },
  { ident: ':w/score', type: 'double' },
  { ident: ':w/big', type: 'bigint' },
  { ident: ':w/dec', type: 'bigdec' },
  { ident: ':w/flag', type: 'boolean' },
  { ident: ':w/at', type: 'instant' },
  { ident: ':w/uid', type: 'uuid', unique: 'identity' },
  { ident: ':w/link', type: 'uri' },
  { ident: ':w/data', type: 'bytes' },
  { ident: ':w/kind', type: 'keyword' },
  { ident: ':w/friend', type: 'ref' },
  { ident: ':w/friends', type: 'ref', many: true },
  { ident: ':w/part', type: 'ref', component: true },
  { ident: ':w/parts', type: 'ref', many: true, component: true },
  { ident: ':w/status', type: 'ref' },
  { ident: ':w/pair', type: 'tuple', tupleType: 'long' },
  { ident: ':w/mixed', type: 'tuple', tupleTypes: ['string', 'long', 'keyword'] },
  { ident: ':w/labelCount', type: 'tuple', tupleAttrs: [':w/label', ':w/count'] },
  { ident: ':w/codeKind', type: 'tuple', tupleAttrs: [':w/code', ':w/kind'], unique: 'value' },
  { ident: ':w/owner', type: 'ref', unique: 'identity' },
  { ident: ':w/ratio', type: 'float' },
  { ident: ':w/sym', type: 'symbol' },
  { ident: ':w/wide', type: 'long', many: true },
  { ident: ':tx/user', type: 'string' },
  { ident: ':tx/scores', type: 'long', many: true },
];

export const ENUMS = [':status/a', ':status/b', ':status/c'] as const;

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4'];

/** One value of every kind; a command uses the ones its attributes need. */
export interface Values {
  string: string;
  keyword: string;
  boolean: boolean;
  long: number;
  bigint: bigint | number;
  double: number;
  bigdec: string;
  float: number;
  symbol: string;
  wide: number | bigint;
  instant: Date;
  uuid: string;
  uri: string;
  bytes: Uint8Array;
  pair: [number | null, number | null];
  mixed: [string | null, number | null, string | null];
  name: string;
  many: number;
}

const values: fc.Arbitrary<Values> = fc.record({
  string: fc.constantFrom('a', 'b', 'c', '', 'é', 'x y', '日本', '😀', "it's \"quoted\"\n"),
  keyword: fc.constantFrom(':k/a', ':k/b', ':k/c', ':k.x/y-z?'),
  boolean: fc.boolean(),
  long: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -0)),
  bigint: fc.oneof(fc.bigInt(-3n, 3n), fc.constantFrom(2n ** 70n, -(2n ** 64n) - 1n, 7)),
  double: fc.constantFrom(0, -0, 1, 1.5, -2.25, 1e300, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, 0.1 + 0.2),
  bigdec: fc.constantFrom('1.0', '1.00', '-3.5', '12.50', '+12.50', '1250E-2', '12.5', '0', '-0.0', '0.0', '1E-7', '123456789012345678901234567890.000000001'),
  float: fc.constantFrom(0, -0, 1, 0.1, Math.fround(0.1), 1e39, Number.NaN, -2.5),
  symbol: fc.constantFrom('inc', 'clojure.core/inc', 'a.b/*c!', 'x'),
  wide: fc.constantFrom(1, 1n, 9007199254740993n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2 ** 53, Number.MAX_SAFE_INTEGER),
  instant: fc.constantFrom(new Date(0), new Date(1e12), new Date(1e12 + 1), new Date(-1000)),
  uuid: fc.constantFrom('00000000-0000-0000-0000-000000000001', 'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6', '123e4567-e89b-12d3-a456-426614174000'),
  uri: fc.constantFrom('https://a.example/x?y=1', 'urn:isbn:0451450523'),
  bytes: fc.constantFrom(new Uint8Array([]), new Uint8Array([0, 255]), new Uint8Array([1, 2, 3])),
  pair: fc.tuple(fc.option(fc.integer({ min: 0, max: 2 })), fc.option(fc.integer({ min: 0, max: 2 }))),
  mixed: fc.tuple(fc.option(fc.constantFrom('p', 'q')), fc.option(fc.integer({ min: 0, max: 2 })), fc.option(fc.constantFrom(':m/a', ':m/b'))),
  name: fc.constantFrom(...NAMES),
  many: fc.integer({ min: 0, max: 2 }),
});

const pick = fc.nat({ max: 1000 });
const picks = fc.array(pick, { minLength: 1, maxLength: 5 });

export type Command =
  | { kind: 'install'; attr: number }
  | { kind: 'enum'; which: number }
  | { kind: 'create'; attrs: number[]; values: Values; nested: boolean }
  | { kind: 'add'; entity: number; attr: number; values: Values; via: 'id' | 'lookup' }
  | { kind: 'retract'; entity: number; attr: number; values: Values; held: boolean; withValue: boolean }
  | { kind: 'retractEntity'; entity: number; target: 'entity' | 'enum' | 'attribute' }
  | { kind: 'cas'; entity: number; attr: number; values: Values; right: boolean }
  | { kind: 'upsert'; attrs: number[]; values: Values }
  | { kind: 'unify'; values: Values; names: number[]; via: 'name' | 'uid' | 'owner' }
  | { kind: 'reverse'; entity: number; values: Values; form: 'one' | 'list' | 'lookup' | 'nested' }
  | { kind: 'txMeta'; values: Values }
  | { kind: 'doc'; target: number; values: Values }
  | { kind: 'invalid'; which: number; entity: number; values: Values };

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('install' as const), attr: pick }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('enum' as const), which: pick }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('create' as const), attrs: picks, values, nested: fc.boolean() }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), entity: pick, attr: pick, values, via: fc.constantFrom('id' as const, 'lookup' as const) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('retract' as const), entity: pick, attr: pick, values, held: fc.boolean(), withValue: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('retractEntity' as const), entity: pick, target: fc.constantFrom(...(['entity', 'entity', 'entity', 'enum', 'enum', 'attribute'] as const)) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('cas' as const), entity: pick, attr: pick, values, right: fc.nat({ max: 3 }).map((n) => n > 0) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('upsert' as const), attrs: picks, values }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('unify' as const), values, names: fc.array(fc.nat({ max: 4 }), { minLength: 2, maxLength: 4 }), via: fc.constantFrom('name' as const, 'uid' as const, 'owner' as const) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reverse' as const), entity: pick, values, form: fc.constantFrom('one' as const, 'list' as const, 'lookup' as const, 'nested' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('txMeta' as const), values }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('doc' as const), target: pick, values }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('invalid' as const), which: pick, entity: pick, values }), weight: 1 },
);

export interface Step {
  /** The transactions of the step: one for transact, several for transactBatch. */
  txs: Command[][];
  batch: boolean;
  instant: 'none' | 'same' | 'later' | 'past';
  requireHeld: boolean;
  /** A seed for shuffling each transaction's clauses (0: as written). */
  shuffle: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  txs: fc.array(fc.array(command, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
  batch: fc.boolean(),
  instant: fc.constantFrom(...(['none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'same', 'later', 'later', 'past'] as const)),
  requireHeld: fc.nat({ max: 9 }).map((n) => n < 2),
  shuffle: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 })),
});

/** The clauses in another order, fixed by the seed (a set is a set whatever its order). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const workload = (maxSteps: number): fc.Arbitrary<Step[]> =>
  fc.array(step, { minLength: Math.min(5, maxSteps), maxLength: maxSteps, size: 'max' });

/** Tempids of data entities (not of attributes or enums), which later commands may name. */
export const isDataTempid = (tempid: string) => tempid !== 'datomic.tx' && !tempid.startsWith('attr') && !tempid.endsWith('.enum');

/** What interpretation needs to know about the state before a transaction. */
export interface Context {
  model: Model;
  /** Entities the workload created (some may hold nothing now). */
  created: readonly EntityId[];
  /** A prefix that makes the tempids of this transaction unique in the run. */
  prefix: string;
}

/** The transaction requests of a step. */
export function interpretStep(s: Step, ctx: Omit<Context, 'prefix'>, stepIndex: number): TxRequest[] {
  const base = ctx.model.lastInstant;
  const txInstant =
    s.instant === 'same' && base > 0
      ? new Date(base)
      : s.instant === 'later'
        ? new Date(Math.max(base, Date.now()) + 1000)
        : s.instant === 'past' && base > 0
          ? new Date(base - 1000)
          : undefined;
  const txs = s.batch ? s.txs : s.txs.slice(0, 1);
  return txs.map((commands, i) => ({
    ops: shuffled(interpret(commands, { ...ctx, prefix: `s${stepIndex}.${i}` }), s.shuffle),
    // In a batch only the first transaction gets the chosen instant; the others follow it.
    ...(txInstant && i === 0 ? { txInstant } : {}),
    ...(s.requireHeld ? { requireHeld: true } : {}),
  }));
}

export function interpret(commands: readonly Command[], ctx: Context): TxOp[] {
  const ops: TxOp[] = [];
  const state = new View(ctx);
  commands.forEach((c, i) => state.command(c, `${ctx.prefix}.${i}`, ops));
  return ops;
}

/** The model's state, seen the way commands need it. */
class View {
  private readonly installed: Set<string>;
  private readonly enums: string[];
  private readonly datoms;
  private readonly ids: Map<string, EntityId>;

  constructor(private readonly ctx: Context) {
    const schema = ctx.model.schema();
    this.ids = schema.idents;
    this.installed = new Set([...schema.attrs.values()].map((a) => a.ident));
    this.enums = ENUMS.filter((e) => schema.idents.has(e));
    this.datoms = ctx.model.datoms();
  }

  command(c: Command, tempid: string, ops: TxOp[]): void {
    switch (c.kind) {
      case 'install':
        return this.install(POOL[c.attr % POOL.length]!, ops);
      case 'enum':
        ops.push({ ':db/id': `${tempid}.enum`, ':db/ident': ENUMS[c.which % ENUMS.length]! });
        return;
      case 'create':
        return this.create(c, tempid, ops);
      case 'add':
        return this.add(c, ops);
      case 'retract':
        return this.retract(c, ops);
      case 'retractEntity':
        return this.retractEntity(c, ops);
      case 'cas':
        return this.cas(c, ops);
      case 'upsert':
        return this.upsert(c, tempid, ops);
      case 'unify':
        return this.unify(c, tempid, ops);
      case 'reverse':
        return this.reverse(c, tempid, ops);
      case 'txMeta':
        if (this.installed.has(':tx/user')) ops.push([':db/add', 'datomic.tx', ':tx/user', c.values.string]);
        if (this.installed.has(':tx/scores')) ops.push({ ':db/id': 'datomic.tx', ':tx/scores': [c.values.many, 7] });
        if (!this.installed.has(':tx/user')) this.install(POOL.find((a) => a.ident === ':tx/user')!, ops);
        return;
      case 'doc': {
        const targets = [...this.enums, ...this.installed, ':db/doc', ':db.type/long'];
        ops.push([':db/add', targets[c.target % targets.length]!, ':db/doc', c.values.string]);
        return;
      }
      case 'invalid':
        return this.invalid(c, tempid, ops);
    }
  }

  private install(def: AttributeDef, ops: TxOp[]): void {
    for (const source of def.tupleAttrs ?? []) {
      if (!this.installed.has(source)) this.install(POOL.find((a) => a.ident === source)!, ops);
    }
    const map: Record<string, unknown> = {
      ':db/id': `attr${def.ident}`,
      ':db/ident': def.ident,
      ':db/valueType': `:db.type/${def.type}`,
      ':db/cardinality': def.many ? ':db.cardinality/many' : ':db.cardinality/one',
    };
    if (def.unique) map[':db/unique'] = `:db.unique/${def.unique}`;
    if (def.component) map[':db/isComponent'] = true;
    if (def.tupleType) map[':db/tupleType'] = `:db.type/${def.tupleType}`;
    if (def.tupleTypes) map[':db/tupleTypes'] = def.tupleTypes.map((t) => `:db.type/${t}`);
    if (def.tupleAttrs) map[':db/tupleAttrs'] = def.tupleAttrs;
    // Installing what is installed upserts through :db/ident and records nothing.
    ops.push(map);
    this.installed.add(def.ident);
  }

  /** Installed attributes a command may assert (not composites, not tx metadata). */
  private dataAttributes(): AttributeDef[] {
    return POOL.filter((a) => this.installed.has(a.ident) && !a.tupleAttrs && !a.ident.startsWith(':tx/'));
  }

  private entity(n: number): EntityId | undefined {
    const all = this.ctx.created;
    return all.length ? all[n % all.length] : undefined;
  }

  private valuesOf(e: EntityId, ident: string): Value[] {
    const a = this.ids.get(ident);
    return this.datoms.filter((d) => d[0] === e && d[1] === a).map((d) => d[2]);
  }

  /** A value for an attribute; refs name existing entities, enums or (in maps) nested entities. */
  private value(def: AttributeDef, v: Values, n: number, nested: (() => unknown) | null): unknown {
    switch (def.type) {
      case 'ref': {
        if (def.ident === ':w/status') return this.enums.length ? this.enums[n % this.enums.length] : undefined;
        if (nested && (def.component || n % 2 === 0)) return nested();
        return this.entity(n);
      }
      case 'tuple':
        return def.tupleType ? v.pair : v.mixed;
      case 'string':
        return def.unique ? v.name : v.string;
      case 'long':
        return def.unique ? n % 40 : def.ident === ':w/wide' ? v.wide : v.long;
      case 'float':
        return v.float;
      case 'symbol':
        return v.symbol;
      case 'uuid':
        return v.uuid;
      default:
        return v[def.type as keyof Values];
    }
  }

  private create(c: Extract<Command, { kind: 'create' }>, tempid: string, ops: TxOp[]): void {
    const attrs = this.dataAttributes();
    if (attrs.length === 0) return this.install(POOL[c.attrs[0]! % POOL.length]!, ops);
    const map: Record<string, unknown> = { ':db/id': tempid };
    let nestedCount = 0;
    const nested = () => {
      const label = this.installed.has(':w/label') ? { ':w/label': c.values.string } : { ':db/doc': 'nested' };
      // Without a unique attribute a nested map under a non-component ref is refused (Datomic's rule).
      const name = this.installed.has(':w/name') && c.values.many > 0 ? { ':w/name': NAMES[(c.values.many + nestedCount) % NAMES.length] } : {};
      return { ':db/id': `${tempid}.n${nestedCount++}`, ...label, ...name };
    };
    for (const [i, n] of c.attrs.entries()) {
      const def = attrs[n % attrs.length]!;
      const value = this.value(def, c.values, n + i, c.nested ? nested : null);
      if (value === undefined) continue;
      map[def.ident] = def.many ? [value, ...(c.values.many > 1 ? [this.value(def, c.values, n + 1, null)].filter((x) => x !== undefined) : [])] : value;
    }
    ops.push(map);
  }

  private add(c: Extract<Command, { kind: 'add' }>, ops: TxOp[]): void {
    const e = this.entity(c.entity);
    const attrs = this.dataAttributes();
    if (e === undefined || attrs.length === 0) return;
    const def = attrs[c.attr % attrs.length]!;
    const value = this.value(def, c.values, c.attr, null);
    if (value === undefined) return;
    const names = this.valuesOf(e, ':w/name');
    const ref = c.via === 'lookup' && names.length ? [':w/name', names[0]!] : e;
    ops.push([':db/add', ref as EntityId, def.ident, value]);
  }

  private retract(c: Extract<Command, { kind: 'retract' }>, ops: TxOp[]): void {
    const e = this.entity(c.entity);
    const attrs = POOL.filter((a) => this.installed.has(a.ident) && !a.ident.startsWith(':tx/'));
    if (e === undefined || attrs.length === 0) return;
    const def = attrs[c.attr % attrs.length]!;
    if (!c.withValue) {
      ops.push([':db/retract', e, def.ident]);
      return;
    }
    const held = this.valuesOf(e, def.ident);
    const value = c.held && held.length ? held[c.attr % held.length] : this.value(def, c.values, c.attr, null);
    if (value !== undefined) ops.push([':db/retract', e, def.ident, value]);
  }

  private retractEntity(c: Extract<Command, { kind: 'retractEntity' }>, ops: TxOp[]): void {
    if (c.target === 'enum' && this.enums.length) {
      ops.push([':db/retractEntity', this.enums[c.entity % this.enums.length]!]);
    } else if (c.target === 'attribute' && this.installed.has(':w/label')) {
      ops.push([':db/retractEntity', ':w/label']);
    } else {
      const e = this.entity(c.entity);
      if (e !== undefined) ops.push([':db/retractEntity', e]);
    }
  }

  private cas(c: Extract<Command, { kind: 'cas' }>, ops: TxOp[]): void {
    const e = this.entity(c.entity);
    const attrs = this.dataAttributes().filter((a) => !a.many && a.type !== 'ref');
    if (e === undefined || attrs.length === 0) return;
    const def = attrs[c.attr % attrs.length]!;
    const held = this.valuesOf(e, def.ident);
    const next = this.value(def, c.values, c.attr + 1, null);
    const old = c.right ? (held[0] ?? null) : held.length ? null : this.value(def, c.values, c.attr, null);
    ops.push([':db/cas', e, def.ident, old, next]);
  }

  private upsert(c: Extract<Command, { kind: 'upsert' }>, tempid: string, ops: TxOp[]): void {
    if (!this.installed.has(':w/name')) return this.install(POOL[0]!, ops);
    const map: Record<string, unknown> = { ':db/id': `${tempid}.u`, ':w/name': c.values.name };
    const attrs = this.dataAttributes().filter((a) => !a.unique && a.type !== 'ref');
    for (const n of c.attrs) {
      if (attrs.length === 0) break;
      const def = attrs[n % attrs.length]!;
      map[def.ident] = def.many ? [this.value(def, c.values, n, null)] : this.value(def, c.values, n, null);
    }
    ops.push(map);
  }

  /** Several tempids claiming overlapping identity values, some held already, as separate clauses. */
  private unify(c: Extract<Command, { kind: 'unify' }>, tempid: string, ops: TxOp[]): void {
    const ident = c.via === 'name' ? ':w/name' : c.via === 'uid' ? ':w/uid' : ':w/owner';
    if (!this.installed.has(ident)) return this.install(POOL.find((a) => a.ident === ident)!, ops);
    const uids = ['00000000-0000-0000-0000-000000000001', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '123e4567-e89b-12d3-a456-426614174000'];
    const valueOf = (n: number): unknown =>
      c.via === 'name' ? NAMES[n] : c.via === 'uid' ? uids[n % uids.length] : n % 2 === 0 ? this.entity(n) : this.enums[n % Math.max(1, this.enums.length)];
    c.names.forEach((n, i) => {
      const t = `${tempid}.t${i % 2}`;
      const v = valueOf(n);
      if (v !== undefined) ops.push([':db/add', t, ident, v]);
      if (i === 0 && this.installed.has(':w/name') && ident !== ':w/name') ops.push([':db/add', t, ':w/name', NAMES[c.names[1]!]!]);
      if (this.installed.has(':w/label')) ops.push([':db/add', t, ':w/label', c.values.string]);
    });
  }

  /** A reverse attribute: the named entities hold :w/friends (or :w/friend) pointing at this one. */
  private reverse(c: Extract<Command, { kind: 'reverse' }>, tempid: string, ops: TxOp[]): void {
    const many = this.installed.has(':w/friends');
    if (!many && !this.installed.has(':w/friend')) return this.install(POOL.find((a) => a.ident === ':w/friends')!, ops);
    const key = many ? ':w/_friends' : ':w/_friend';
    const e = this.entity(c.entity) ?? `${tempid}.r`;
    const other = this.entity(c.entity + 1);
    const names = other === undefined ? [] : this.valuesOf(other, ':w/name');
    let value: unknown;
    if (c.form === 'one') value = other ?? `${tempid}.r`;
    else if (c.form === 'list') value = [other, this.entity(c.entity + 2)].filter((x) => x !== undefined);
    else if (c.form === 'lookup') value = names.length ? [':w/name', names[0]] : other;
    else value = { ':db/id': `${tempid}.rn`, ':w/label': c.values.string, ...(this.installed.has(':w/name') ? { ':w/name': c.values.name } : {}) };
    if (value === undefined) return;
    const map: Record<string, unknown> = { ':db/id': e, [key]: value };
    if (typeof e === 'string' && this.installed.has(':w/label')) map[':w/label'] = c.values.string;
    ops.push(map);
  }

  private invalid(c: Extract<Command, { kind: 'invalid' }>, tempid: string, ops: TxOp[]): void {
    const e = this.entity(c.entity) ?? 'fresh';
    switch (c.which % 6) {
      case 0:
        if (this.installed.has(':w/count')) ops.push([':db/add', e, ':w/count', 'not a long']);
        else ops.push([':db/add', e, ':nope/missing', 1]);
        return;
      case 1:
        ops.push([':db/add', e, ':nope/missing', 1]);
        return;
      case 2:
        if (this.installed.has(':w/name')) ops.push([':db/add', [':w/name', 'no such name'], ':db/doc', 'x']);
        return;
      case 3:
        if (this.installed.has(':w/friend')) ops.push([':db/add', e, ':w/friend', `${tempid}.nowhere`]);
        return;
      case 4:
        if (this.installed.has(':w/status')) ops.push([':db/add', e, ':w/status', ':status/none']);
        return;
      case 5:
        if (this.installed.has(':w/score')) ops.push({ ':db/id': e, ':w/score': 1n });
        return;
    }
  }
}
