import type { ResolvedRenderConfig } from "../config/resolved.js";
import type { RenderWriteError } from "../errors.js";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import { unifiedDiff } from "../render/diff.js";
import { readIfExists } from "../render/write-file.js";
import { backoffDelayMs, type Clock } from "../time.js";
import type { CatalogCheck } from "./catalog-gaps.js";
import type { OnceOutcome } from "./once.js";
import { publish, type PublishOptions } from "./publish.js";
import { renderPass } from "./render-pass.js";
import type { RenderScope } from "./render-scope.js";
import { reportCatalogGaps, reportRefusals } from "./reports.js";
import { guardHold, serviceCounts } from "./shrink-guard.js";
import type { TemplateState } from "./template-state.js";

export type Outcome = "written" | "unchanged" | "waiting" | "failed";

export interface TemplateRendererDeps {
  readonly config: ResolvedRenderConfig;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  /** Where `--dry` prints its diffs. */
  readonly stdout: NodeJS.WritableStream;
  readonly clock: Clock;
  /** Ends checks in flight at shutdown. */
  readonly signal: AbortSignal;
  readonly data: { read(key: string): { hasData: boolean; data: unknown } };
  readonly catalog: CatalogCheck;
  readonly once: OnceOutcome;
  /** A fresh scope for one pass. */
  scope(): RenderScope;
  /** Render this template again in `ms` (a write to retry, a guard hold to release). */
  retry(t: TemplateState, ms: number): void;
  /** The set of dependencies some template reads has changed: the watches need a sync. */
  dependenciesChanged(): void;
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a.keys()) if (!b.has(key)) return false;
  return true;
}

/**
 * What happens to one template in a cycle: the render pass, then (data complete) the reports,
 * the dry-run diff or the empty-file guard and the publish, each outcome recorded on its state.
 */
export class TemplateRenderer {
  readonly #publishing: PublishOptions;

  constructor(private readonly deps: TemplateRendererDeps) {
    const { config, logger, metrics, clock, signal } = deps;
    this.#publishing = { check: config.check, commandTimeoutMs: config.commandTimeoutMs, signal, logger, metrics, clock };
  }

  /** Renders one template and, when its data is complete and changed, publishes the file. */
  async render(t: TemplateState, changedAt: number | undefined): Promise<Outcome> {
    const scope = this.deps.scope();
    const pass = renderPass(t.compiled, scope, this.deps.clock);
    if (!sameKeys(t.dependencies, scope.used)) this.deps.dependenciesChanged();
    t.dependencies = scope.used;
    t.lastPassMs = pass.ms;
    if (pass.kind === "failed") {
      t.lastError = pass.error.message;
      // Whatever changes next may fix it.
      t.waitingFor = new Set();
      this.deps.logger.error("render", "render failed; the last good output stays", { error: pass.error.message });
      this.deps.once.failed(pass.error);
      return "failed";
    }
    t.waitingFor = scope.waitingFor;
    if (pass.kind === "waiting") {
      this.deps.logger.debug("render", "waiting for data", { template: t.spec.source, missing: [...scope.missing] });
      return "waiting";
    }
    reportRefusals(t, scope.refusals, this.deps.logger, this.deps.metrics);
    reportCatalogGaps(t, this.deps.catalog, this.deps.logger);
    t.rendered = true;
    t.lastError = undefined;
    if (this.deps.config.dry) {
      const diff = unifiedDiff(t.spec.destination, await readIfExists(t.spec.destination), pass.contents);
      if (diff) this.deps.stdout.write(diff);
      return diff ? "written" : "unchanged";
    }
    // Instance counts are the empty-file guard's input, and only it needs them.
    const counts = t.guard ? serviceCounts(scope.used, this.deps.data) : undefined;
    const hold = counts && t.guard && guardHold(t.guard, counts, t.spec.destination, this.deps.logger);
    if (hold) {
      t.lastError = `guard: ${hold.violation}`;
      this.deps.retry(t, hold.leftMs);
      return "failed";
    }
    const published = await publish(t, pass.contents, changedAt, this.#publishing);
    switch (published.result) {
      case "write-failed":
        return this.#writeFailed(t, published.error);
      case "cancelled":
        return "failed";
      case "refused":
        t.lastError = published.why;
        this.deps.once.failed(published.error);
        return "failed";
      default:
        t.writeFailures = 0;
        if (published.result === "written" && counts) t.guard?.written(counts);
        return published.result;
    }
  }

  // A full disk or a bad destination is one line, the old file stays, and the write is retried.
  #writeFailed(t: TemplateState, error: RenderWriteError): "failed" {
    t.lastError = error.message;
    this.deps.metrics?.writeFailures.inc({ template: t.spec.destination });
    if (this.deps.config.once) {
      this.deps.logger.error("render", "cannot write; the old file stays", { destination: t.spec.destination, error: error.message });
      this.deps.once.failed(error);
      return "failed";
    }
    const retryInMs = backoffDelayMs(t.writeFailures++, { baseMs: 500, maxMs: 30_000 });
    this.deps.logger.error("render", "cannot write; the old file stays, retrying", { destination: t.spec.destination, error: error.message, retryInMs });
    this.deps.retry(t, retryInMs);
    return "failed";
  }
}
