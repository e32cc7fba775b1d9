/**
 * Bundled in place of `@aws-lambda-powertools/commons/utils/invocation-scoped` (infra/bundling.ts
 * `alias`). Powertools Logger and Metrics keep their state in `InvocationScoped` values, and
 * Powertools 2.36 decides on every access whether to scope them to the invocation by reading
 * `AWS_LAMBDA_MAX_CONCURRENCY`: 21 reads of an unset variable per request, ≈ 0.4 µs each, 8 µs
 * of callToken's and makeCall's warm requests (a CPU profile put `getStringFromEnv` at 7 %).
 * Lambda sets that variable when it creates an execution environment (Lambda Managed
 * Instances) and never changes it, so it is read once here: set, Powertools' own class, as
 * it is; unset (every function of this stack), a value shared across invocations, which is
 * what Powertools' class gives on every access when it is unset.
 * test/infra/invocationScopedShim.test.ts holds both to the same answers.
 */
import { InvocationScoped as PerInvocation } from '../../node_modules/@aws-lambda-powertools/commons/lib/esm/InvocationScoped.js';

/** What Powertools' class is given: `{ initial }` or `{ fresh }`. */
export type Options<T> = ConstructorParameters<typeof PerInvocation<T>>[1];

/** Powertools' `InvocationScoped` when no invocation context is ever used. */
export class ContainerWide<T> {
  readonly #create: () => T;
  #shared: [T] | undefined;

  constructor(_name: string, options: Options<T>) {
    this.#create = 'fresh' in options ? options.fresh : () => options.initial;
  }
  get isScoped(): boolean {
    return false;
  }
  get(): T {
    return this.getShared();
  }
  set(value: T): void {
    this.setShared(value);
  }
  reset(): void {
    this.#shared = undefined;
  }
  getShared(): T {
    this.#shared ??= [this.#create()];
    return this.#shared[0];
  }
  setShared(value: T): void {
    this.#shared = [value];
  }
}

export const scopedPerInvocation = (env: NodeJS.ProcessEnv) => (env.AWS_LAMBDA_MAX_CONCURRENCY ?? '').trim() !== '';

export const InvocationScoped = scopedPerInvocation(process.env) ? PerInvocation : ContainerWide;
