/** Structured JSON logs, one object per line on stdout; `child()` carries request ids. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { name: error.name, message: error.message, stack: error.stack, cause: serializeError(error.cause) };
}

export function createLogger(
  { level = 'info', bindings = {}, write = (line: string) => process.stdout.write(line) }:
  { level?: LogLevel; bindings?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const threshold = LEVELS[level];
  const log = (lvl: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (LEVELS[lvl] < threshold) return;
    const entry: LogFields = { time: new Date().toISOString(), level: lvl, msg, ...bindings };
    for (const [key, value] of Object.entries(fields)) entry[key] = key === 'err' ? serializeError(value) : value;
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (extra) => createLogger({ level, bindings: { ...bindings, ...extra }, write }),
  };
}

/** For tests and tools that must stay quiet. */
export const silentLogger: Logger = createLogger({ write: () => {} });
