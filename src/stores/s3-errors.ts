import { StoreRequestError } from './errors';

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

export interface S3ErrorFacts {
  /** The S3 error code (`NoSuchBucket`), or the system's (`ECONNRESET`), or the error's name. */
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly message: string;
}

export function s3ErrorFacts(err: unknown): S3ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const name = text(e.name);
  return {
    code: text(e.Code) ?? text(e.code) ?? (name === 'Error' ? undefined : name),
    status: e.$metadata?.httpStatusCode,
    message: text(e.message) ?? String(err),
  };
}

const TRANSIENT_CODES = new Set([
  // S3 and SDK
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'ConditionalRequestConflict',
  'TimeoutError',
  // the network
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Worth another attempt: throttling, server faults, dropped connections, timeouts. */
export function isTransientS3Error(err: unknown): boolean {
  const { code, status, message } = s3ErrorFacts(err);
  if (status !== undefined && ((status >= 500 && status !== 501) || status === 429)) return true;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  if ((err as ErrorShape | undefined)?.$retryable) return true;
  return /socket hang up|ECONNRESET|premature close/i.test(message);
}

export function s3RequestError(
  err: unknown,
  context: { operation: string; location: string; attempts: number },
): StoreRequestError {
  const { code, status, message } = s3ErrorFacts(err);
  const what = [code ?? 'error', status === undefined ? '' : ` (HTTP ${status})`].join('');
  const tries = context.attempts > 1 ? `, gave up after ${context.attempts} attempts` : '';
  return new StoreRequestError(
    `${context.location}: S3 ${context.operation} failed: ${what}${tries}: ${message}`,
    context.operation,
    context.location,
    code,
    status,
    context.attempts,
    { cause: err },
  );
}
