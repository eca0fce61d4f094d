import type { ResolvedTemplate } from "../config/resolved.js";
import type { Dependency } from "../dependency/dependency.js";
import type { RuntimeStatus, TemplateStatus } from "../observe/status.js";
import type { Written } from "../render/write-file.js";
import type { CompiledTemplate } from "../template/compile.js";
import { RefusalReport } from "./refusals.js";
import type { ShrinkGuard } from "./shrink-guard.js";

/** One template's life in the runner: what it was compiled from, read, wrote and waits for. */
export interface TemplateState {
  readonly spec: ResolvedTemplate;
  compiled: CompiledTemplate;
  dependencies: Map<string, Dependency>;
  /** Rendered (or, with --dry, shown) at least once. */
  rendered: boolean;
  lastError: string | undefined;
  /** What the destination held before this cycle's write (for rollback). */
  previous: string | undefined;
  /** What this process last put at the destination (not read back while the file is unchanged). */
  written: Written | undefined;
  /** The empty-file guard's state (with --guard-shrink). */
  readonly guard: ShrinkGuard | undefined;
  readonly refusals: RefusalReport;
  notInCatalog: string[];
  /** Consecutive failed writes (ENOSPC, EACCES, …): the retry backs off with it. */
  writeFailures: number;
  /**
   * Dependencies the last pass found without data: a waiting template renders again once all of
   * them have answered, not at each answer (5,000 first answers would each cost a full pass).
   */
  waitingFor: Set<string>;
  /** How long the last render pass took (ms). */
  lastPassMs: number;
  /** The contents last put at the destination. */
  output: string | undefined;
  /** With --haproxy-socket: the configuration HAProxy runs (after its last reload or runtime update). */
  applied: string | undefined;
  /** With --haproxy-socket: how the last change reached HAProxy. */
  runtime: RuntimeStatus | undefined;
  /** When the first change not yet in the file arrived (clock.now()). */
  changedAt: number | undefined;
  lastRenderAt: Date | undefined;
}

export function newTemplateState(spec: ResolvedTemplate, compiled: CompiledTemplate, guard: ShrinkGuard | undefined): TemplateState {
  return { spec, compiled, dependencies: new Map(), rendered: false, lastError: undefined, previous: undefined, written: undefined, guard, refusals: new RefusalReport(), notInCatalog: [], writeFailures: 0, waitingFor: new Set(), lastPassMs: 0, output: undefined, applied: undefined, runtime: undefined, changedAt: undefined, lastRenderAt: undefined };
}

/** What a template still waits for, live: the last pass's missing dependencies that have not answered since. */
export function missingOf(t: TemplateState): string[] {
  return [...t.waitingFor].map((key) => t.dependencies.get(key)?.description ?? key);
}

export interface WatchView {
  read(key: string): { hasData: boolean; data: unknown };
  indexOf(key: string): number;
}

/** A template as /status shows it. */
export function templateStatus(t: TemplateState, watches: WatchView): TemplateStatus {
  return {
    source: t.spec.source,
    destination: t.spec.destination,
    rendered: t.rendered,
    lastRenderAt: t.lastRenderAt?.toISOString(),
    lastError: t.lastError,
    missing: missingOf(t),
    refused: t.refusals.list(),
    notInCatalog: t.notInCatalog,
    dependencies: [...t.dependencies.values()].map((d) => {
      const { hasData, data } = watches.read(d.key);
      return { description: d.description, index: watches.indexOf(d.key), hasData, instances: Array.isArray(data) ? data.length : undefined };
    }),
    runtime: t.runtime,
  };
}

/** Every dependency the templates read, with the catalog list of each datacenter they read services in. */
export function wantedDependencies(templates: readonly TemplateState[], catalog: { dependency(datacenter: string): Dependency }): Map<string, Dependency> {
  const wanted = new Map<string, Dependency>();
  for (const t of templates) {
    for (const [key, dep] of t.dependencies) {
      wanted.set(key, dep);
      if (dep.service === undefined) continue;
      const list = catalog.dependency(dep.datacenter);
      wanted.set(list.key, list);
    }
  }
  return wanted;
}
