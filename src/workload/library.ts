// A realistic, seeded workload for the demo, the benchmarks and the tests: a lending
// library whose schema grows over time, with refs, enums, cardinality many, components,
// tuples, upserts, retractions and transaction metadata.
import type { Database, EntityId, TxOp, TxReport } from '../db/types';

/** A small deterministic PRNG (mulberry32), so a seed always gives the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const attr = (ident: string, valueType: string, extra: Record<string, unknown> = {}) => ({
  ':db/ident': ident,
  ':db/valueType': `:db.type/${valueType}`,
  ':db/cardinality': ':db.cardinality/one',
  ...extra,
});
const many = { ':db/cardinality': ':db.cardinality/many' };

/** Schema in stages: the workload installs the next stage as it goes. */
export const SCHEMA_STAGES: TxOp[][] = [
  [
    attr(':author/name', 'string', { ':db/unique': ':db.unique/identity' }),
    attr(':book/title', 'string'),
    attr(':book/isbn', 'string', { ':db/unique': ':db.unique/value' }),
    attr(':book/author', 'ref'),
    attr(':book/tags', 'keyword', many),
    attr(':book/status', 'ref'),
    { ':db/ident': ':book.status/available' },
    { ':db/ident': ':book.status/lent' },
    { ':db/ident': ':book.status/lost' },
    attr(':member/email', 'string', { ':db/unique': ':db.unique/identity' }),
    attr(':member/name', 'string'),
    attr(':tx/source', 'keyword'),
  ],
  [
    attr(':loan/book', 'ref'),
    attr(':loan/member', 'ref'),
    attr(':loan/due', 'instant'),
    attr(':loan/returned', 'boolean'),
    attr(':loan/key', 'tuple', { ':db/tupleAttrs': [':loan/book', ':loan/member'] }),
    attr(':member/address', 'ref', { ':db/isComponent': true }),
    attr(':address/city', 'string'),
    attr(':address/zip', 'string'),
  ],
  [
    attr(':book/rating', 'double'),
    attr(':book/price', 'bigdec'),
    attr(':book/pages', 'long'),
    attr(':book/uuid', 'uuid', { ':db/unique': ':db.unique/identity' }),
    attr(':book/cover-hash', 'bytes'),
    attr(':book/copies-sold', 'bigint'),
    attr(':book/homepage', 'uri'),
    attr(':book/dimensions', 'tuple', { ':db/tupleTypes': [':db.type/long', ':db.type/long', ':db.type/double'] }),
    attr(':member/favourites', 'ref', many),
  ],
];

/** Options of LibraryWorkload: the seed, and how often the schema grows. */
export interface WorkloadOptions {
  seed?: number;
  /** Install the next schema stage every this many transactions. */
  stageEvery?: number;
}

const WORDS = ['river', 'stone', 'night', 'garden', 'glass', 'winter', 'paper', 'iron', 'salt', 'cloud', 'north', 'ember'];
const CITIES = ['Lisbon', 'Oslo', 'Quito', 'Perth', 'Kyoto', 'Accra'];

/**
 * A seeded workload of library transactions (authors, books, members, loans) exercising refs,
 * enums, cardinality many, components, tuples, upserts, retractions and a growing schema; the demo,
 * the benches and the tests write it. The same seed gives the same transactions.
 */
export class LibraryWorkload {
  private readonly random: () => number;
  private readonly stageEvery: number;
  private stage = 0;
  private count = 0;
  private readonly authors: EntityId[] = [];
  private readonly books: EntityId[] = [];
  private readonly members: EntityId[] = [];
  private readonly loans: EntityId[] = [];

  constructor(options: WorkloadOptions = {}) {
    this.random = prng(options.seed ?? 1);
    this.stageEvery = options.stageEvery ?? 200;
  }

  /** The next transaction's operations; report its result with observe(). */
  next(): TxOp[] {
    const n = this.count++;
    if (this.stage === 0 || (n % this.stageEvery === 0 && this.stage < SCHEMA_STAGES.length)) {
      return SCHEMA_STAGES[this.stage++]!;
    }
    const r = this.random();
    if (this.authors.length < 3 || r < 0.1) return this.newAuthor();
    if (this.books.length < 5 || r < 0.35) return this.newBook();
    if (this.members.length < 3 || r < 0.5) return this.newMember();
    if (this.stage >= 2 && r < 0.7) return this.newLoan();
    if (r < 0.8) return this.updateBook();
    if (r < 0.86 && this.stage >= 2 && this.loans.length) return this.returnLoan();
    if (r < 0.9) return this.upsertMember();
    if (r < 0.95) return this.retagBook();
    return this.retractSomething();
  }

  /** Learns the ids the last transaction created. */
  observe(report: TxReport): void {
    for (const [tempid, id] of Object.entries(report.tempids)) {
      if (tempid.startsWith('author')) this.authors.push(id);
      else if (tempid.startsWith('book')) this.books.push(id);
      else if (tempid.startsWith('member')) this.members.push(id);
      else if (tempid.startsWith('loan')) this.loans.push(id);
    }
  }

  /** Runs count transactions against db (batchSize per commit). */
  async run(db: Database, count: number, batchSize = 1): Promise<number> {
    let datoms = 0;
    for (let done = 0; done < count; ) {
      const size = Math.min(batchSize, count - done);
      // A schema stage must commit before data uses it, so batches never span one.
      const requests = [];
      for (let i = 0; i < size; i++) {
        const ops = this.next();
        requests.push({ ops });
        if (SCHEMA_STAGES.includes(ops)) break;
      }
      const reports = await db.transactBatch(requests);
      for (const report of reports) {
        this.observe(report);
        datoms += report.datoms.length;
      }
      done += reports.length;
    }
    return datoms;
  }

  private pick<T>(items: T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private word(): string {
    return this.pick(WORDS);
  }

  private newAuthor(): TxOp[] {
    return [{ ':db/id': 'author', ':author/name': `${this.word()} ${this.word()} ${this.count}` }];
  }

  private newBook(): TxOp[] {
    const book: Record<string, unknown> = {
      ':db/id': 'book',
      ':book/title': `The ${this.word()} of ${this.word()}`,
      ':book/isbn': `978-${this.count}-${Math.floor(this.random() * 1e6)}`,
      ':book/author': this.pick(this.authors),
      ':book/tags': [`:tag/${this.word()}`, `:tag/${this.word()}`],
      ':book/status': ':book.status/available',
    };
    if (this.stage >= 3) {
      book[':book/rating'] = Math.floor(this.random() * 5) + (this.random() < 0.3 ? 0 : 0.5); // whole doubles too
      book[':book/price'] = `${Math.floor(this.random() * 100)}.${this.random() < 0.5 ? '50' : '00'}`;
      book[':book/pages'] = 50 + Math.floor(this.random() * 900);
      book[':book/uuid'] = uuid(this.random);
      book[':book/cover-hash'] = Uint8Array.from({ length: 8 }, () => Math.floor(this.random() * 256));
      book[':book/copies-sold'] = BigInt(Math.floor(this.random() * 1e6)) * 10_000_000_000n;
      book[':book/homepage'] = `https://books.example/${this.count}`;
      book[':book/dimensions'] = [Math.floor(this.random() * 30), Math.floor(this.random() * 20), 1.0];
    }
    return [book, [':db/add', 'datomic.tx', ':tx/source', ':source/catalogue']];
  }

  private newMember(): TxOp[] {
    const member: Record<string, unknown> = {
      ':db/id': 'member',
      ':member/email': `m${this.count}@example.org`,
      ':member/name': `${this.word()} ${this.word()}`,
    };
    if (this.stage >= 2) member[':member/address'] = { ':address/city': this.pick(CITIES), ':address/zip': String(1000 + this.count) };
    return [member];
  }

  private newLoan(): TxOp[] {
    const book = this.pick(this.books);
    return [
      {
        ':db/id': 'loan',
        ':loan/book': book,
        ':loan/member': this.pick(this.members),
        ':loan/due': new Date(Date.UTC(2026, 0, 1) + this.count * 3_600_000),
        ':loan/returned': false,
      },
      [':db/add', book, ':book/status', ':book.status/lent'],
    ];
  }

  private returnLoan(): TxOp[] {
    const loan = this.pick(this.loans);
    return [[':db/add', loan, ':loan/returned', true]];
  }

  private updateBook(): TxOp[] {
    const book = this.pick(this.books);
    const ops: TxOp[] = [[':db/add', book, ':book/title', `The ${this.word()} ${this.count}`]];
    if (this.stage >= 3) ops.push([':db/add', book, ':book/rating', this.random() * 5]);
    if (this.stage >= 3 && this.members.length) ops.push([':db/add', this.pick(this.members), ':member/favourites', book]);
    return ops;
  }

  private upsertMember(): TxOp[] {
    // An upsert through the unique identity: the existing member, a new name.
    const i = Math.floor(this.random() * this.count);
    return [{ ':member/email': `m${i}@example.org`, ':member/name': `renamed ${this.word()}` }];
  }

  private retagBook(): TxOp[] {
    const book = this.pick(this.books);
    return [
      [':db/retract', book, ':book/tags'],
      [':db/add', book, ':book/tags', `:tag/${this.word()}-${this.count}`],
    ];
  }

  private retractSomething(): TxOp[] {
    if (this.stage >= 2 && this.members.length > 5 && this.random() < 0.5) {
      // A member leaves: their address (a component) and every ref to them go too.
      const i = Math.floor(this.random() * this.members.length);
      const [member] = this.members.splice(i, 1);
      return [[':db/retractEntity', member!]];
    }
    const book = this.pick(this.books);
    return [[':db/add', book, ':book/status', ':book.status/lost']];
  }
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
