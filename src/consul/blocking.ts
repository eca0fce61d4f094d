/**
 * Consul's documented rules for blocking queries, as pure functions so each rule has a test.
 * https://developer.hashicorp.com/consul/api-docs/features/blocking
 */

/**
 * The index to send next, given the one we sent and the one Consul returned.
 * - an index below 1 is treated as 1, so we never send 0 after the first answer and spin;
 * - an index that went backwards means the agent's state was reset: start over from 0.
 */
export function nextIndex(previous: number, returned: number): number {
  if (returned < 1) return 1;
  if (returned < previous) return 0;
  return returned;
}

/** Consul adds up to wait/16 of jitter to a blocking query: the client must wait longer. */
export function blockingTimeoutMs(waitMs: number, marginMs = 5_000): number {
  return waitMs + Math.ceil(waitMs / 16) + marginMs;
}

/**
 * Per-watch rate limit: after a wake-up, the next request may leave no sooner than
 * `minIntervalMs` after the previous one left, so a flapping service degrades to a bounded
 * request rate instead of hammering the agent.
 */
export function rateLimitDelayMs(lastStartMs: number, nowMs: number, minIntervalMs: number): number {
  return Math.max(0, lastStartMs + minIntervalMs - nowMs);
}
