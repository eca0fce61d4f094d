import { setTimeout as sleepTimer } from "node:timers/promises";

/** Sleeps `ms`, resolving `false` (not throwing) when the signal aborts first. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !signal?.aborted;
  try {
    await sleepTimer(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
