import { Logger } from '@aws-lambda-powertools/logger';
import type { Clock, Log } from '../core/ports.js';

/**
 * The Lambda functions' logger: Powertools, JSON lines with the Lambda context (request id, cold
 * start, function name) and the API's request id as correlation id, added per invocation by the
 * entry points. Level from POWERTOOLS_LOG_LEVEL (default INFO).
 */
export function createLambdaLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
type Level = (typeof LEVELS)[number];

/**
 * The local runner's logger: one JSON line per entry on one stream, every level alike, because
 * whoever runs `npm start` pipes stdout (Powertools sends WARN and ERROR to stderr and offers no
 * option, and its internals are not for overriding). The same fields as Powertools' lines
 * (level, message, timestamp, service), then the attributes; errors as name, message and stack.
 */
export function createJsonLinesLog(options: {
  serviceName: string;
  clock: Clock;
  level?: string;
  write?: (line: string) => void;
}): Log {
  const threshold = LEVELS.indexOf(((options.level ?? 'INFO').toUpperCase() as Level) ?? 'INFO');
  const minimum = threshold < 0 ? LEVELS.indexOf('INFO') : threshold;
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const line =
    (level: Level) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      if (LEVELS.indexOf(level) < minimum) return;
      const entry = {
        level,
        message,
        timestamp: new Date(options.clock.now()).toISOString(),
        service: options.serviceName,
        ...Object.assign({}, ...attributes),
      };
      write(`${JSON.stringify(entry, errorsAsObjects)}\n`);
    };
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
}

function errorsAsObjects(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return {
    name: value.name,
    message: value.message,
    stack: value.stack,
    ...(value.cause === undefined ? {} : { cause: value.cause }),
  };
}
