/**
 * For tests of what the service counts: a configuration loader whose secrets are stale, and
 * the real Powertools sink's embedded-metric-format (EMF) lines read back from what it wrote
 * to stdout, as CloudWatch reads them.
 */
import type { FieldName } from '../../lib/config.js';
import type { ConfigLoader } from '../../lib/functionConfig.js';

/** A loader that reports its (good) secrets as stale, as when Secrets Manager cannot be read. */
export function stale<K extends FieldName>(loader: ConfigLoader<K>): ConfigLoader<K> {
  const read = async () => ({ ...(await loader.read()), stale: true });
  return Object.assign(async () => (await read()).config, { read });
}

/** One EMF line: the metric values and dimension values at the top level, what they are under `_aws`. */
export type EmfDocument = Record<string, unknown> & {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
};

/** Every EMF line in `written` (chunks of stdout), parsed. */
export function emfDocuments(written: string[]): EmfDocument[] {
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

/** The values of metric `name` in an EMF line: a name counted twice in one invocation holds an array. */
export function emfValues(emf: EmfDocument, name: string): unknown[] {
  const value = emf[name];
  return Array.isArray(value) ? value : [value];
}
