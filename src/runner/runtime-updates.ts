import { writeFile } from "node:fs/promises";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import { HaproxyRuntime } from "../haproxy/runtime-api.js";
import { keepMatchingState, planRuntimeUpdate, serverStateFile, type RuntimeOp } from "../haproxy/runtime-plan.js";
import type { Clock } from "../time.js";
import type { TemplateState } from "./template-state.js";

export interface RuntimeUpdatesOptions {
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  readonly clock: Clock;
  /** Per Runtime API command. */
  readonly timeoutMs: number;
}

function counts(plan: { readonly ops: readonly RuntimeOp[] }): Record<string, number> {
  const of = (op: string) => plan.ops.filter((o) => o.op === op).length;
  return { added: of("add"), removed: of("remove"), updated: of("update") };
}

/**
 * Instance changes of HAProxy configs without a reload: for each changed file that has an
 * HAProxy socket, the difference from the configuration HAProxy runs is applied through the
 * Runtime API when it lies only in server lines; the file is written all the same (it is what the
 * next start reads). Anything else, or any command HAProxy refuses, falls back to the reload,
 * after the servers' state is saved where the config's `server-state-file` says.
 */
export class RuntimeUpdates {
  readonly #runtimes = new Map<string, HaproxyRuntime>();

  constructor(private readonly options: RuntimeUpdatesOptions) {}

  #runtime(socket: string, drainMs: number): HaproxyRuntime {
    let runtime = this.#runtimes.get(socket);
    if (!runtime) {
      runtime = new HaproxyRuntime(socket, { timeoutMs: this.options.timeoutMs, drainMs, clock: this.options.clock });
      this.#runtimes.set(socket, runtime);
    }
    return runtime;
  }

  /** Applies what can be applied at runtime; returns the files that still need their reload. */
  async apply(changed: readonly TemplateState[]): Promise<TemplateState[]> {
    const reload: TemplateState[] = [];
    for (const t of changed) {
      const haproxy = t.spec.haproxy;
      if (!haproxy || t.output === undefined) {
        reload.push(t);
        continue;
      }
      const runtime = this.#runtime(haproxy.socket, haproxy.drainMs);
      const fallback = await this.#tryRuntime(t, t.output, runtime);
      if (!fallback) continue;
      t.runtime = { at: new Date().toISOString(), result: "reload", operations: 0, reason: fallback.reason };
      this.options.metrics?.reloadFallbacks.inc({ template: t.spec.destination, reason: fallback.kind });
      this.options.logger.info("haproxy", "reloading: not a change the Runtime API can make", { destination: t.spec.destination, reason: fallback.reason });
      await this.#saveServerState(runtime, t.output);
      reload.push(t);
    }
    return reload;
  }

  /** Makes a file's change through the Runtime API; undefined when it did, else why it needs a reload. */
  async #tryRuntime(t: TemplateState, output: string, runtime: HaproxyRuntime): Promise<{ kind: "unknown" | "structure" | "refused"; reason: string } | undefined> {
    const running = t.applied ?? t.previous;
    if (running === undefined) return { kind: "unknown", reason: "what HAProxy runs is not known (no earlier file)" };
    const plan = planRuntimeUpdate(running, output);
    if (plan.kind === "reload") return { kind: "structure", reason: plan.reason };
    try {
      await runtime.apply(plan.ops);
    } catch (error) {
      return { kind: "refused", reason: error instanceof Error ? error.message : String(error) };
    }
    t.applied = output;
    t.runtime = { at: new Date().toISOString(), result: "applied", operations: plan.ops.length, reason: undefined };
    this.options.metrics?.runtimeUpdates.inc({ template: t.spec.destination });
    this.options.logger.info("haproxy", "applied through the Runtime API, no reload", { destination: t.spec.destination, ...counts(plan) });
    return undefined;
  }

  /** After the reload commands ran: what HAProxy runs now. */
  reloaded(t: TemplateState, outcome: "ok" | "rolled-back" | "failed"): void {
    if (!t.spec.haproxy) return;
    t.applied = outcome === "ok" ? t.output : outcome === "rolled-back" ? t.previous : undefined;
  }

  // With `load-server-state-from-file`, the new process takes each server's state (health,
  // maintenance, weight) from this file, so the reload does not reset them. Only servers the new
  // file keeps at the same address and port carry their state over: HAProxy would otherwise take
  // the old address from the state, and the file is the truth.
  async #saveServerState(runtime: HaproxyRuntime, config: string): Promise<void> {
    const file = serverStateFile(config);
    if (!file) return;
    try {
      await writeFile(file, `${keepMatchingState(await runtime.command("show servers state"), config)}\n`);
    } catch (error) {
      this.options.logger.warn("haproxy", "could not save the servers' state before the reload: it starts afresh", { file, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Ends drains in flight. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#runtimes.values()].map((r) => r.close()));
  }
}
