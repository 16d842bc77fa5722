// A small HTTP server for probes and scrapers: /healthz and /metrics.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';

/** What /healthz answers: ok (200) or not (503), with details. */
export interface Health {
  ok: boolean;
  detail?: unknown;
}

/** Options of startMetricsServer. */
export interface MetricsServerOptions {
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** Default 127.0.0.1; '0.0.0.0' or '::' to listen on every interface. */
  host?: string;
  metrics: Metrics;
  /** Answers /healthz; a rejection counts as unhealthy. Default: always healthy. */
  health?: () => Promise<Health>;
}

/** A running metrics server: where it listens, and close(). */
export interface MetricsServer {
  readonly host: string;
  /** The port bound (the one asked for, or the one picked for 0). */
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text) and /healthz over HTTP until closed. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const health = options.health ?? (async () => ({ ok: true }));
  const server = createServer((req, res) => {
    handle(req, res, options.metrics, health).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new Error(`metrics server: cannot listen on ${host}:${options.port}: ${err.message}`, { cause: err });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; they must not hold the shutdown.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, metrics: Metrics, health: () => Promise<Health>): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/metrics') return send(res, 200, metrics.contentType, await metrics.text());
  if (path === '/healthz') {
    let result: Health;
    try {
      result = await health();
    } catch (err) {
      result = { ok: false, detail: { error: (err as Error).message } };
    }
    return send(res, result.ok ? 200 : 503, 'application/json', JSON.stringify(result) + '\n');
  }
  return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz or /metrics\n');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
