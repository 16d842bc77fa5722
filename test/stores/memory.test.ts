import { MemoryBucket, openMemoryStore } from '../../src/stores';
import { segmentStoreContract } from './contract';

segmentStoreContract('memory store', {
  atomicCreate: true,
  async open(options) {
    const bucket = new MemoryBucket();
    return {
      store: openMemoryStore({ ...options, bucket }),
      sibling: () => openMemoryStore({ ...options, bucket }),
      raw: {
        async read(key) {
          return bucket.objects.get(key)?.bytes ?? null;
        },
        async write(key, bytes) {
          bucket.objects.set(key, { bytes });
        },
        async remove(key) {
          bucket.objects.delete(key);
        },
        async corrupt(key) {
          bucket.objects.get(key)!.bytes[0]! ^= 0xff;
        },
      },
    };
  },
});
