import { parseEDNString } from 'edn-data';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, segmentToEdn, type Segment } from '../../src/segment';
import { sampleInput } from './fixtures';

function sample(): Segment {
  return decodeSegment(encodeSegment(sampleInput()).bytes, { name: 'edn' });
}

describe('segmentToEdn', () => {
  it('writes the header, schema, idents and datoms readably', () => {
    const text = segmentToEdn(sample());
    expect(text.startsWith('{:format "txclone.segment"\n :version 1\n :database "db1"\n :start-t 5\n :end-t 7')).toBe(true);
    expect(text).toContain(':created-at #inst "2024-01-02T00:00:00.000Z"');
    expect(text).toContain(
      '{:db/id 114 :db/ident :person/name+age :db/valueType :db.type/tuple :db/cardinality :db.cardinality/one :db/tupleAttrs [:person/name :person/age]}',
    );
    expect(text).toContain(':idents {20 :db.type/string\n          23 :db.type/long}');
    expect(text).toContain('{:t 6 :tx 5001 :instant #inst "2024-01-01T00:00:00.002Z"');
    for (const datom of [
      '[1000 :db/valueType :db.type/string 5000 true]', // a ref to an ident shows the ident
      '[2000 :person/status :status/active 5001 true]',
      '[2000 :person/age -42 5001 true]',
      '[2000 :person/big -10000000000000000000000000000000000000007N 5001 true]',
      '[2000 :person/score 1.0 5001 true]',
      '[2000 :person/score -0.0 5001 true]',
      '[2000 :person/score ##NaN 5001 true]',
      '[2000 :person/score ##-Inf 5001 true]',
      '[2000 :person/balance 12.50M 5001 true]',
      '[2000 :person/born #inst "1969-12-31T23:59:59.999Z" 5001 true]',
      '[2000 :person/uuid #uuid "0b5f6c2e-6d1a-4d8e-9c1b-2a3f4e5d6c7b" 5001 true]',
      '[2000 :person/photo #txclone/base64 "AAEC/w==" 5001 true]',
      '[2000 :person/friend 17592186045418 5001 true]',
      '[2000 :person/scores [1.0 nil 2.5] 5001 true]',
      '[2000 :person/pair ["x" 1180591620717411303424N] 5001 true]',
      '[2000 :person/age -42 5002 false]',
    ]) {
      expect(text).toContain(datom);
    }
  });

  it('is EDN an EDN reader reads back', () => {
    const segment = sample();
    // edn-data does not read ##NaN / ##Inf (EDN since Clojure 1.9), so leave those out here
    segment.transactions[1]!.datoms = segment.transactions[1]!.datoms.filter(
      (d) => !(typeof d[2] === 'number' && !Number.isFinite(d[2])),
    );
    const read = parseEDNString(segmentToEdn(segment), {
      mapAs: 'object',
      keywordAs: 'string',
      tagHandlers: { 'txclone/base64': (s) => Buffer.from(s as string, 'base64') },
    }) as any;
    expect(read['datom-count']).toBe(25);
    expect(read.schema).toHaveLength(segment.schema.length);
    expect(read.transactions[1].datoms[5]).toEqual([2000, 'person/big', -(10n ** 40n) - 7n, 5001, true]);
    expect(read.transactions[1].datoms[12][2]).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(read.transactions[1].datoms[9][2]).toEqual(new Date(-1));
  });

  it('writes bigdec forms EDN lacks as the same decimal', () => {
    const input = sampleInput();
    const balance = input.transactions[1]!.datoms[10]!;
    for (const [text, edn] of [
      ['.5', '0.5M'],
      ['-.5e3', '-0.5e3M'],
      ['5.', '5M'],
      ['+1.E2', '+1E2M'],
    ]) {
      balance[2] = text!;
      const rendered = segmentToEdn(decodeSegment(encodeSegment(input).bytes, { name: 'edn' }));
      expect(rendered).toContain(`[2000 :person/balance ${edn} 5001 true]`);
    }
  });
});
