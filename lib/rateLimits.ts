/**
 * Caps on what a flood can make us write: alerts and log lines. Per container, in memory,
 * which is enough to bound the rate; the metrics still count every event.
 */

export type GateVerdict =
  /** Let it through; `suppressed` events of this key were held back since the last one that passed. */
  | { pass: true; suppressed: number; suppressedByCap: number }
  /** Hold it back; `firstHeld`: the first held back of this key (or by the cap) since one passed. */
  | { pass: false; firstHeld: boolean };

export interface GateOptions {
  windowMs: number;
  /** Events of one key let through per window. */
  perKey: number;
  /** Events of all keys let through per window (sliding); none: no overall cap. */
  total?: number;
  now?: () => number;
}

/** Held-back counts of a key are carried to its next event for at most this many windows. */
const CARRY_WINDOWS = 10;

/**
 * Lets at most `perKey` events of one key through per window (counted from the first), and
 * at most `total` of all keys. The next event let through says how many were held back:
 * of its own key, and by the overall cap. State grows only with events let through, so a
 * caller who varies keys cannot grow it past `total` keys a window.
 */
export function windowedGate(options: GateOptions) {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { start: number; passed: number; held: number }>();
  const passes: number[] = [];
  let heldByCap = 0;
  let lastSweep = now();

  const sweep = (time: number) => {
    if (time - lastSweep < options.windowMs) return;
    lastSweep = time;
    for (const [key, entry] of entries) {
      const age = time - entry.start;
      if (age >= options.windowMs && (entry.held === 0 || age >= CARRY_WINDOWS * options.windowMs)) entries.delete(key);
    }
  };

  /** Whether the overall cap leaves room for one more; counts it when it does. */
  const underCap = (time: number) => {
    if (options.total === undefined) return true;
    while (passes.length > 0 && time - (passes[0] as number) >= options.windowMs) passes.shift();
    if (passes.length >= options.total) return false;
    passes.push(time);
    return true;
  };
  const holdByCap = (): GateVerdict => {
    heldByCap += 1;
    return { pass: false, firstHeld: heldByCap === 1 };
  };

  return (key: string): GateVerdict => {
    const time = now();
    sweep(time);
    const entry = entries.get(key);
    if (entry && time - entry.start < options.windowMs) {
      if (entry.passed >= options.perKey) {
        entry.held += 1;
        return { pass: false, firstHeld: entry.held === 1 };
      }
      if (!underCap(time)) return holdByCap();
      entry.passed += 1;
      return { pass: true, suppressed: 0, suppressedByCap: 0 };
    }
    if (!underCap(time)) return holdByCap();
    const verdict = { pass: true as const, suppressed: entry?.held ?? 0, suppressedByCap: heldByCap };
    heldByCap = 0;
    entries.set(key, { start: time, passed: 1, held: 0 });
    return verdict;
  };
}

export type Gate = ReturnType<typeof windowedGate>;
