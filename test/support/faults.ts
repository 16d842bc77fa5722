/**
 * A loopback HTTP proxy that breaks some of the requests passing through it, the way a
 * flaky network or an overloaded S3 does: 500 InternalError, 503 SlowDown, a connection
 * dropped before the request reaches the server, and one dropped after the server has
 * acted on it (so the client retries something that already happened).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../../src/workload';

export type FaultKind = 'internalError' | 'slowDown' | 'dropBefore' | 'dropAfter';

export const ALL_FAULTS: readonly FaultKind[] = ['internalError', 'slowDown', 'dropBefore', 'dropAfter'];

export interface FaultProxyOptions {
  /** Where requests go: `http://127.0.0.1:port`. */
  readonly target: string;
  /** The share of requests to break, 0..1. */
  readonly rate: number;
  readonly kinds?: readonly FaultKind[];
  /** For a reproducible fault sequence (given the same request order). */
  readonly seed?: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Every request seen, `METHOD /path?query`, in arrival order. */
  readonly requests: string[];
  readonly faults: Record<FaultKind, number>;
  setRate(rate: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.kinds ?? ALL_FAULTS;
  const random = prng(options.seed ?? 1);
  const faults = Object.fromEntries(ALL_FAULTS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const requests: string[] = [];
  let rate = options.rate;

  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const fault = random() < rate ? kinds[Math.floor(random() * kinds.length)]! : null;
    if (fault) faults[fault] += 1;
    if (fault === 'dropBefore') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (fault === 'internalError') return sendError(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (fault === 'slowDown') return sendError(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
      // Headers go through untouched (Host included), so the server's signature check
      // passes. A connection per request, so no fault can spill into another request.
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (upstreamRes) => {
          if (fault === 'dropAfter') {
            upstreamRes.resume();
            upstreamRes.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    faults,
    setRate(next) {
      rate = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
