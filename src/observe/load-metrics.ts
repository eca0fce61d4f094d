import type { Metrics } from "./metrics.js";

export type { Metrics };

/** The metrics registry, with prom-client loaded on demand (only a process that serves --listen needs it). */
export async function loadMetrics(): Promise<Metrics> {
  const { Metrics: Registry } = await import("./metrics.js");
  return new Registry();
}
