// The logging shape the library takes: pino's, so a pino logger fits as it is.
/** The logger the library writes to: pino's shape (a pino logger fits as it is); silent when absent. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => undefined;
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
