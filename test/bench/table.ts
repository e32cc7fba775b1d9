/**
 * The bench's one table: a row per measurement, what it is compared with, the ratio or
 * difference the target is about, the target and whether it is met (✓/✗; rows shown for
 * information have no mark). Markdown, with columns padded so it also reads in a terminal.
 */

export interface TableRow {
  measure: string;
  fn: string;
  value: string;
  reference: string;
  result: string;
  target: string;
  /** undefined: for information, no target. */
  met?: boolean;
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;
export const signedMs = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)} ms`;
export const us = (value: number) => `${value < 100 ? value.toFixed(1) : value.toFixed(0)} µs`;
export const bytes = (value: number) => `${value.toLocaleString('en-US')} B`;
export const times = (value: number) => `${value.toFixed(2)} ×`;

const HEADERS = ['Measure', 'Function', 'Measured', 'Compared with', 'Result', 'Target', ''];

export function markdownTable(rows: readonly TableRow[]): string {
  const cells = rows.map((row) => [
    row.measure,
    row.fn,
    row.value,
    row.reference,
    row.result,
    row.target,
    row.met === undefined ? '' : row.met ? '✓' : '✗',
  ]);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...cells.map((line) => (line[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    `| ${values.map((value, i) => value.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(HEADERS), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}
