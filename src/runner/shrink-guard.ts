import type { Dependency } from "../dependency/dependency.js";
import type { Logger } from "../observe/logger.js";

/**
 * The empty-file guard: a change that empties a service, or shrinks it by more than
 * `maxShrinkPercent`, is held back (the last file stays) until it has persisted for `holdMs`.
 * A flapping registry or a partitioned agent then does not push an empty backend.
 */
export interface GuardOptions {
  readonly maxShrinkPercent: number;
  readonly holdMs: number;
}

/** Names the first service whose instance count fell too far, or undefined. */
export function shrinkViolation(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, maxShrinkPercent: number): string | undefined {
  for (const [service, was] of before) {
    const now = after.get(service);
    if (now === undefined || was === 0) continue;
    if (now === 0) return `${service} dropped from ${was} instances to 0`;
    const shrink = ((was - now) / was) * 100;
    if (shrink > maxShrinkPercent) return `${service} shrank from ${was} to ${now} instances (${Math.round(shrink)}% > ${maxShrinkPercent}%)`;
  }
  return undefined;
}

export type GuardVerdict = { readonly hold: false; readonly released?: string } | { readonly hold: true; readonly violation: string; readonly leftMs: number };

/**
 * The guard's state for one template. The baseline is the largest count of each service written
 * within the last `holdMs` (and the last written one), not just the previous render: a service
 * collapsing 3 → 2 → 1 → 0 in quick steps is measured from 3 at every step.
 */
export class ShrinkGuard {
  #written: { at: number; counts: ReadonlyMap<string, number> }[] = [];
  #since: number | undefined;

  constructor(
    private readonly options: GuardOptions,
    private readonly now: () => number = () => performance.now(),
  ) {}

  #baseline(now: number): Map<string, number> {
    const baseline = new Map<string, number>();
    this.#written = this.#written.filter((w, i) => i === this.#written.length - 1 || now - w.at <= this.options.holdMs);
    for (const { counts } of this.#written) for (const [service, n] of counts) baseline.set(service, Math.max(n, baseline.get(service) ?? 0));
    return baseline;
  }

  /** Whether `counts` may be written now. A shrink held for `holdMs` is released. */
  check(counts: ReadonlyMap<string, number>): GuardVerdict {
    const now = this.now();
    const violation = shrinkViolation(this.#baseline(now), counts, this.options.maxShrinkPercent);
    if (!violation) {
      this.#since = undefined;
      return { hold: false };
    }
    this.#since ??= now;
    const leftMs = this.#since + this.options.holdMs - now;
    if (leftMs > 0) return { hold: true, violation, leftMs };
    this.#since = undefined;
    // The shrink persisted: it is the new baseline.
    this.#written = [];
    return { hold: false, released: violation };
  }

  /** Records what was written. */
  written(counts: ReadonlyMap<string, number>): void {
    this.#written.push({ at: this.now(), counts });
  }
}

/** Instances per service query, the guard's input. */
export function serviceCounts(used: ReadonlyMap<string, Dependency>, source: { read(key: string): { data: unknown } }): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [key, dependency] of used) {
    const { data } = source.read(key);
    if (dependency.service !== undefined && Array.isArray(data)) counts.set(dependency.description, data.length);
  }
  return counts;
}

/** Asks the guard whether `counts` may be written, says so in the log; the hold, or undefined to write. */
export function guardHold(guard: ShrinkGuard, counts: ReadonlyMap<string, number>, destination: string, logger: Logger): { violation: string; leftMs: number } | undefined {
  const verdict = guard.check(counts);
  if (!verdict.hold) {
    if (verdict.released) logger.warn("render", "guard: the shrink persisted, writing it", { destination, change: verdict.released });
    return undefined;
  }
  logger.warn("render", "guard: holding the last file back", { destination, change: verdict.violation, holdMs: Math.round(verdict.leftMs) });
  return { violation: verdict.violation, leftMs: verdict.leftMs };
}
