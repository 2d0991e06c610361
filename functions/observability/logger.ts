import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../core/ports.js';

type LogItem = Parameters<Logger['printLog']>[1];

/**
 * Powertools prints WARN and ERROR to stderr, which Lambda sends to CloudWatch like stdout. A
 * local runner's operator pipes stdout, so there every level goes to stdout as one JSON line.
 */
class StdoutLogger extends Logger {
  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    process.stdout.write(`${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`);
  }
}

/** JSON lines, one logger per process. Level from POWERTOOLS_LOG_LEVEL (default INFO). */
export function createLogger(options: { serviceName?: string; allToStdout?: boolean } = {}): Log {
  const serviceName = options.serviceName ?? 'heartbeat';
  return options.allToStdout === true ? new StdoutLogger({ serviceName }) : new Logger({ serviceName });
}
