import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { InvalidStoreUrlError, openStore, parseStoreUrl } from '../../src/stores';
import { bytesFor } from './contract';

describe('parseStoreUrl', () => {
  test('directories: file URLs and plain paths, relative or absolute', () => {
    expect(parseStoreUrl('file:///var/lib/txclone')).toEqual({ kind: 'directory', path: '/var/lib/txclone' });
    expect(parseStoreUrl('file:///tmp/with%20space')).toEqual({ kind: 'directory', path: '/tmp/with space' });
    expect(parseStoreUrl('/srv/segments')).toEqual({ kind: 'directory', path: '/srv/segments' });
    expect(parseStoreUrl('data/segments')).toEqual({ kind: 'directory', path: path.resolve('data/segments') });
    expect(parseStoreUrl('./x')).toEqual({ kind: 'directory', path: path.resolve('x') });
  });

  test('memory', () => {
    expect(parseStoreUrl('memory:')).toEqual({ kind: 'memory' });
    expect(parseStoreUrl('memory://')).toEqual({ kind: 'memory' });
  });

  test('s3 with its query options', () => {
    expect(parseStoreUrl('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(
      parseStoreUrl(
        's3://my.bucket/backups/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true&checksums=WHEN_REQUIRED&pageSize=250',
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'my.bucket',
      prefix: 'backups/prod',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      checksums: 'WHEN_REQUIRED',
      pageSize: 250,
    });
    expect(parseStoreUrl('s3://b1b/p?forcePathStyle=false')).toMatchObject({ forcePathStyle: false });
  });

  test.each([
    ['', /empty/],
    ['ftp://host/x', /unsupported scheme 'ftp:'/],
    ['file://otherhost/x', /host/],
    ['file:relative/x', /expected file:\/\/\/absolute\/path/],
    ['file:///x?pageSize=3', /takes no query/],
    ['memory:foo', /just 'memory:'/],
    ['s3:///prefix', /no bucket/],
    ['s3://Bad_Bucket/x', /invalid bucket name 'bad_bucket'|invalid bucket name 'Bad_Bucket'/],
    ['s3://key:secret@bucket/x', /credentials do not belong in the URL/],
    ['s3://bucket:9000/x', /port belongs in the endpoint/],
    ['s3://bucket/x?forcePathStyle=yes', /forcePathStyle: expected true or false/],
    ['s3://bucket/x?endpoint=localhost:9000', /endpoint: expected an http\(s\) URL/],
    ['s3://bucket/x?checksums=ALWAYS', /checksums: expected WHEN_SUPPORTED or WHEN_REQUIRED/],
    ['s3://bucket/x?pageSize=0', /pageSize/],
    ['s3://bucket/x?pagesize=10', /unknown parameter 'pagesize' \(known: endpoint/],
    ['s3://bucket/x?region=a&region=b', /parameter 'region' given twice/],
  ])('rejects %j, naming the URL and the problem', (url, problem) => {
    let error: unknown;
    try {
      parseStoreUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidStoreUrlError);
    expect((error as Error).message).toContain(`invalid store URL ${JSON.stringify(url)}: `);
    expect((error as Error).message).toMatch(problem);
  });
});

describe('openStore', () => {
  test('opens a working directory store from a file URL and from a path', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'txclone-open-'));
    try {
      const fromUrl = openStore(pathToFileURL(root).href);
      await fromUrl.put('db', 1, 2, bytesFor(1, 2));
      await fromUrl.close();
      const fromPath = openStore(root, { pageSize: 1 });
      expect(fromPath.location).toBe(root);
      expect(await fromPath.get('db', 1, 2)).toEqual(bytesFor(1, 2));
      await fromPath.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('every memory: URL is a fresh store', async () => {
    const a = openStore('memory:');
    const b = openStore('memory:');
    await a.put('db', 1, 1, bytesFor(1, 1));
    expect(await a.head('db')).toMatchObject({ endT: 1 });
    expect(await b.head('db')).toBeNull();
    await Promise.all([a.close(), b.close()]);
  });

  test('rejects a bad page size from the options', () => {
    expect(() => openStore('memory:', { pageSize: 5000 })).toThrow(/pageSize must be an integer from 1 to 1000/);
  });
});
