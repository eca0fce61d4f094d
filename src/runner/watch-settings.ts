import type { ResolvedRenderConfig } from "../config/resolved.js";
import type { Clock } from "../time.js";
import type { WatcherOptions } from "../watch/watcher.js";

const onceWaitMs = 2_000;

// Connections kept free of long-held blocking queries: probe sweeps, one-shot reads, writes.
const connectionReserve = 24;
const poolConcurrency = 16;

/** How the renderer's watches run: their timing and how many hold a connection each. */
export function watchSettings(config: ResolvedRenderConfig, multiplexed: boolean, clock: Clock): Pick<WatcherOptions, "timing" | "maxDirectWatches" | "poolConcurrency"> {
  return {
    timing: {
      // With --once, a blocking query only matters while a template still waits for data, and
      // Consul 1.8 holds it (and its connection) until its wait ends even after we exit: a
      // short wait leaves nothing behind for the next run.
      waitMs: config.once ? Math.min(config.blockingWaitMs, onceWaitMs) : config.blockingWaitMs,
      minIntervalMs: 50,
      pollMs: 30_000,
      backoffBaseMs: 250,
      backoffMaxMs: 10_000,
      maxStaleMs: config.maxStaleMs,
      clock,
    },
    // Over HTTP/2 every watch is a stream on a shared connection: no budget to fall back from.
    maxDirectWatches: multiplexed ? Number.POSITIVE_INFINITY : Math.max(1, config.consul.maxConnections - connectionReserve),
    poolConcurrency,
  };
}
