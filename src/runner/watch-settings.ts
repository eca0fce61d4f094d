import type { ResolvedRenderConfig } from "../config/resolved.js";
import { splitBudget } from "../consul/http1.js";
import type { Clock } from "../time.js";
import type { WatcherOptions } from "../watch/watcher.js";

const onceWaitMs = 2_000;

const poolConcurrency = 16;

/**
 * Past the budget, the probe pool serves most services whatever the number of direct watches:
 * 40 keep their own query, so the renderer stays within 64 connections (40 held, 20 short, the
 * pool's detector among them) and leaves the agent's other 136 to its other clients.
 */
const overflowDirectWatches = 40;

/** How the renderer's watches run: their timing and how many hold a connection each. */
export function watchSettings(config: ResolvedRenderConfig, multiplexed: boolean, clock: Clock): Pick<WatcherOptions, "timing" | "maxDirectWatches" | "overflowDirectWatches" | "poolConcurrency" | "once"> {
  // Over HTTP/2 every watch is a stream on a shared connection: no budget to fall back from.
  // Over HTTP/1.1 each direct watch holds one connection of the held lane.
  const maxDirectWatches = multiplexed ? Number.POSITIVE_INFINITY : splitBudget(config.consul.maxConnections).held;
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
    maxDirectWatches,
    overflowDirectWatches,
    poolConcurrency,
    once: config.once,
  };
}
