/**
 * The empty-file guard: a change that empties a service, or shrinks it by more than
 * `maxShrinkPercent` at once, is held back (the last file stays) until it has persisted for
 * `holdMs`. A flapping registry or a partitioned agent then does not push an empty backend.
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
