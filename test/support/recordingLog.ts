/** A Log that keeps what it is told, so tests can read what would have been logged. */
import type { Log, LogAttributes } from '../../lib/log.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: LogAttributes | undefined;
}

export function recordingLog(): Log & { entries: LogEntry[]; text(): string } {
  const entries: LogEntry[] = [];
  const record = (level: LogEntry['level']) => (message: string, attributes?: LogAttributes) => {
    entries.push({ level, message, attributes });
  };
  return {
    entries,
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    /** Everything logged, as one string: for "never appears in the logs" checks. */
    text: () => JSON.stringify(entries),
  };
}
