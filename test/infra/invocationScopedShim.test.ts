/**
 * The bundles keep Powertools' per-invocation state in infra/shims/invocationScoped.ts. With
 * `AWS_LAMBDA_MAX_CONCURRENCY` unset it must answer exactly what Powertools' own
 * `InvocationScoped` answers, inside an invocation context or not; set, it is Powertools' own.
 */
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import { InvocationScoped as Powertools } from '@aws-lambda-powertools/commons/utils/invocation-scoped';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerWide, type Options, scopedPerInvocation } from '../../infra/shims/invocationScoped.js';

type Scoped<T> = Pick<Powertools<T>, 'isScoped' | 'get' | 'set' | 'reset' | 'getShared' | 'setShared'>;

/** The same steps on one value, and what each read answered. */
function script(make: <T>(name: string, options: Options<T>) => Scoped<T>) {
  const seen: unknown[] = [];
  const level = make('level', { initial: 12 });
  let made = 0;
  const attributes = make('attributes', { fresh: () => ({ made: ++made }) as Record<string, unknown> });
  const first = attributes.get();
  seen.push(level.isScoped, level.get(), first, attributes.get() === first);
  level.set(8);
  attributes.get().user = 'u-1';
  seen.push(level.get(), level.getShared(), attributes.get(), attributes.getShared());
  level.reset();
  attributes.reset();
  seen.push(level.get(), attributes.get(), made);
  attributes.setShared({ given: true });
  level.set(undefined as unknown as number);
  seen.push(attributes.get(), level.get(), level.getShared());
  return seen;
}

const powertools = <T>(name: string, options: Options<T>) => new Powertools<T>(name, options);
const shim = <T>(name: string, options: Options<T>) => new ContainerWide<T>(name, options);

describe('Powertools state with AWS_LAMBDA_MAX_CONCURRENCY unset', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.AWS_LAMBDA_MAX_CONCURRENCY;
    delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
  });
  afterEach(() => {
    if (saved !== undefined) process.env.AWS_LAMBDA_MAX_CONCURRENCY = saved;
  });

  it('the container-wide value answers what Powertools answers, outside an invocation', () => {
    expect(script(shim)).toEqual(script(powertools));
  });

  it('the container-wide value answers what Powertools answers, inside an invocation context', async () => {
    const store = await InvokeStore.getInstanceAsync();
    const inside = (make: Parameters<typeof script>[0]) =>
      store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: 'r-1' }, () => script(make));
    expect(inside(shim)).toEqual(inside(powertools));
  });

  it('has every member Powertools gives its class, so a Powertools upgrade that uses a new one fails here', () => {
    const members = (c: object) =>
      Object.getOwnPropertyNames(c)
        .filter((name) => name !== 'constructor')
        .sort();
    expect(members(ContainerWide.prototype)).toEqual(members(Powertools.prototype));
  });
});

describe('which class the bundles get', () => {
  it('Powertools’ own when Lambda runs invocations concurrently (the variable set), the shared value otherwise', () => {
    expect(scopedPerInvocation({ AWS_LAMBDA_MAX_CONCURRENCY: '8' })).toBe(true);
    expect(scopedPerInvocation({ AWS_LAMBDA_MAX_CONCURRENCY: ' ' })).toBe(false);
    expect(scopedPerInvocation({})).toBe(false);
  });
});
