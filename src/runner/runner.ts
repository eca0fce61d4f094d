import type { ConsulClient } from "../consul/client.js";
import type { ResolvedRenderConfig, ResolvedTemplate } from "../config/resolved.js";
import type { Dependency } from "../dependency/dependency.js";
import { backoffDelayMs } from "../time.js";
import { CommandFailedError, OnceTimeoutError, RenderWriteError, TemplateError } from "../errors.js";
import { logMs, type Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { RendererStatus, TemplateStatus } from "../observe/status.js";
import { unifiedDiff } from "../render/diff.js";
import { readIfExists, stageWrite, type Candidate, type Written } from "../render/write-file.js";
import { loadTemplate, type CompiledTemplate } from "../template/compile.js";
import { Watcher } from "../watch/watcher.js";
import { checkCandidate, runCommands, type Swapped } from "./commands.js";
import { CatalogCheck } from "./catalog-gaps.js";
import { checkLookup, DependencyCache } from "./dependency-factory.js";
import { ShrinkGuard } from "./guard.js";
import { Quiescence } from "./quiescence.js";
import { RefusalReport } from "./refusals.js";
import { RenderScope } from "./render-scope.js";
import { TemplateFiles } from "./template-files.js";

export interface RunnerOptions {
  readonly config: ResolvedRenderConfig;
  readonly client: ConsulClient;
  readonly logger: Logger;
  /** Where `--dry` prints its diffs. */
  readonly stdout?: NodeJS.WritableStream;
  readonly metrics?: Metrics;
}

interface TemplateState {
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
  /** When the first change not yet in the file arrived (performance.now()). */
  changedAt: number | undefined;
  lastRenderAt: Date | undefined;
}

const onceWaitMs = 2_000;

// Connections kept free of long-held blocking queries: probe sweeps, one-shot reads, writes.
const connectionReserve = 24;
const poolConcurrency = 16;

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a.keys()) if (!b.has(key)) return false;
  return true;
}

/**
 * Orchestrates the renderer: which templates to re-render after which dependency changed,
 * quiescence, writing, and running commands at most once per cycle.
 */
export class Runner implements RendererStatus {
  readonly #config: ResolvedRenderConfig;
  readonly #logger: Logger;
  readonly #watcher: Watcher;
  readonly #templates: TemplateState[] = [];
  readonly #dirty = new Set<TemplateState>();
  readonly #dependencyCache: DependencyCache;
  /** The catalog lists watched to tell "no instances" from "not in the catalog". */
  readonly #catalog: CatalogCheck;
  readonly #quiescence: Quiescence;
  readonly #stdout: NodeJS.WritableStream;
  readonly #metrics: Metrics | undefined;
  readonly #controller = new AbortController();
  #templateFiles: TemplateFiles | undefined;
  #cycle: Promise<void> = Promise.resolve();
  #cyclePending = false;
  #onceDone: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #onceError: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.#stdout = options.stdout ?? process.stdout;
    this.#metrics = options.metrics;
    const { config } = options;
    this.#watcher = new Watcher({
      client: options.client,
      logger: options.logger,
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
      },
      // Over HTTP/2 every watch is a stream on a shared connection: no budget to fall back from.
      maxDirectWatches: options.client.multiplexed ? Number.POSITIVE_INFINITY : Math.max(1, config.consul.maxConnections - connectionReserve),
      poolConcurrency,
      onChange: (key) => this.#dependencyChanged(key),
      metrics: options.metrics,
    });
    this.#dependencyCache = new DependencyCache({ stale: config.maxStaleMs > 0 });
    this.#catalog = new CatalogCheck((key) => this.#watcher.read(key), config.maxStaleMs > 0);
    this.#quiescence = new Quiescence(config.wait.minMs, config.wait.maxMs, () => this.#scheduleCycle());
  }

  #scope(): RenderScope {
    const { onUnsafe, maxValueLength } = this.#config;
    return new RenderScope(this.#watcher, this.#dependencyCache, { onUnsafe, maxValueLength });
  }

  get reachable(): boolean | undefined {
    return this.#watcher.reachable;
  }

  get watchCount(): number {
    return this.#watcher.size;
  }

  /** Every template's state, for /status and /healthz. */
  templates(): TemplateStatus[] {
    return this.#templates.map((t) => ({
      source: t.spec.source,
      destination: t.spec.destination,
      rendered: t.rendered,
      lastRenderAt: t.lastRenderAt?.toISOString(),
      lastError: t.lastError,
      missing: this.#missing(t),
      refused: t.refusals.list(),
      notInCatalog: t.notInCatalog,
      dependencies: [...t.dependencies.values()].map((d) => {
        const { hasData, data } = this.#watcher.read(d.key);
        return { description: d.description, index: this.#watcher.indexOf(d.key), hasData, instances: Array.isArray(data) ? data.length : undefined };
      }),
    }));
  }

  /**
   * Loads every template and runs a first render pass, throwing TemplateError for a template
   * that does not parse or calls a helper wrongly, before anything is written; then watches.
   */
  async start(): Promise<void> {
    for (const spec of this.#config.templates) {
      const compiled = await loadTemplate(spec.source, checkLookup);
      const guard = this.#config.guard ? new ShrinkGuard(this.#config.guard) : undefined;
      this.#templates.push({ spec, compiled, dependencies: new Map(), rendered: false, lastError: undefined, previous: undefined, written: undefined, guard, refusals: new RefusalReport(), notInCatalog: [], writeFailures: 0, waitingFor: new Set(), lastPassMs: 0, changedAt: undefined, lastRenderAt: undefined });
    }
    for (const t of this.#templates) {
      const scope = this.#scope();
      t.compiled.render(scope);
      t.dependencies = scope.used;
    }
    if (!this.#config.once) {
      this.#templateFiles = new TemplateFiles(
        this.#templates.map((t) => t.spec.source),
        (path) => void this.#reloadTemplate(path),
        (path) => this.#templates.find((t) => t.spec.source === path)?.compiled.text,
      );
    }
    for (const t of this.#templates) this.#dirty.add(t);
    this.#scheduleCycle();
  }

  /** What a template still waits for, live: the last pass's missing dependencies that have not answered since. */
  #missing(t: TemplateState): string[] {
    return [...t.waitingFor].map((key) => t.dependencies.get(key)?.description ?? key);
  }

  /** With --once: resolves when every template has rendered and its commands ran. */
  untilOnceDone(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#onceDone = { resolve, reject };
      if (this.#onceError) reject(this.#onceError);
      if (this.#templates.every((t) => t.rendered)) resolve();
      const timer = setTimeout(() => {
        // What has not answered yet (not what the last pass missed: much may have come since).
        const missing = [...new Set(this.#templates.filter((t) => !t.rendered).flatMap((t) => this.#missing(t)))];
        const named = missing.length > 10 ? `${missing.slice(0, 10).join(", ")} and ${missing.length - 10} more` : missing.join(", ");
        reject(new OnceTimeoutError(`--once: gave up after ${this.#config.onceTimeoutMs} ms; still waiting for ${named || "a first answer from Consul"}`));
      }, this.#config.onceTimeoutMs);
      this.#controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    });
  }

  async #reloadTemplate(path: string): Promise<void> {
    for (const t of this.#templates.filter((x) => x.spec.source === path)) {
      try {
        t.compiled = await loadTemplate(path, checkLookup);
        t.lastError = undefined;
        this.#logger.info("template", "template changed, re-rendering", { template: path });
        this.#dirty.add(t);
      } catch (error) {
        t.lastError = error instanceof Error ? error.message : String(error);
        this.#logger.error("template", "template edit rejected; the last good output stays", { error: t.lastError });
      }
    }
    this.#quiescence.trigger();
  }

  #dependencyChanged(key: string): void {
    // A change of the catalog's service list matters only to templates with a service that has
    // no instances (is it missing from the catalog?) or that is reported missing now.
    const catalog = this.#catalog.isCatalogKey(key);
    for (const t of this.#templates) {
      if (!t.dependencies.has(key) && !(catalog && this.#catalog.mayHaveGap(t.dependencies.values(), t.notInCatalog))) continue;
      // Waiting: render again when the last dependency it waits for has answered.
      t.waitingFor.delete(key);
      if (t.waitingFor.size > 0) continue;
      this.#dirty.add(t);
      t.changedAt ??= performance.now();
    }
    this.#quiescence.trigger();
  }

  // Cycles run one at a time; changes that arrive meanwhile are picked up by the next one.
  #scheduleCycle(): void {
    if (this.#cyclePending || this.#closing) return;
    this.#cyclePending = true;
    this.#cycle = this.#cycle.then(async () => {
      this.#cyclePending = false;
      if (this.#closing) return;
      try {
        await this.#runCycle();
      } catch (error) {
        // A bug must not end the daemon silently or leave the chain rejected: say it, go on.
        const message = error instanceof Error ? error.message : String(error);
        this.#logger.error("runner", "render cycle failed", { error: message });
        this.#onceFailed(error instanceof Error ? error : new Error(message));
      }
    });
  }

  async #runCycle(): Promise<void> {
    const batch = [...this.#dirty];
    this.#dirty.clear();
    const changed: TemplateState[] = [];
    for (const t of batch) {
      const changedAt = t.changedAt;
      t.changedAt = undefined;
      const result = await this.#renderOne(t, changedAt);
      // Not in the file yet: the delay goes on counting from the first change.
      if (result === "waiting" || result === "failed") t.changedAt ??= changedAt;
      this.#metrics?.renders.inc({ template: t.spec.destination, result });
      if (result === "written") {
        t.lastRenderAt = new Date();
        this.#metrics?.lastRender.set({ template: t.spec.destination }, t.lastRenderAt.getTime() / 1000);
      }
      if (result === "written") changed.push(t);
    }
    this.#syncWatches();
    if (!this.#config.dry && changed.length > 0) {
      const swapped: Swapped[] = changed.map((t) => ({ destination: t.spec.destination, previous: t.previous, command: t.spec.command }));
      const { rolledBack, failed } = await runCommands(swapped, this.#config.exec, { timeoutMs: this.#config.commandTimeoutMs, signal: this.#controller.signal, logger: this.#logger, metrics: this.#metrics });
      for (const t of changed) {
        if (!rolledBack.includes(t.spec.destination)) continue;
        t.lastError = "reload failed; previous file restored";
        this.#metrics?.rollbacks.inc({ template: t.spec.destination });
      }
      if (failed.length > 0) this.#onceFailed(new CommandFailedError(`--once: ${failed.map((c) => `"${c}"`).join(", ")} failed (see the log above)`));
    }
    if (this.#config.once && !this.#onceError && this.#templates.every((t) => t.rendered)) this.#onceDone?.resolve();
  }

  #retryTimer: NodeJS.Timeout | undefined;

  /** With --once, the first failure ends the run with its error (and exit code). */
  #onceFailed(error: Error): void {
    if (!this.#config.once || this.#onceError) return;
    this.#onceError = error;
    this.#onceDone?.reject(error);
  }

  #retryLater(ms: number): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#scheduleCycle();
    }, ms);
  }

  async #renderOne(t: TemplateState, changedAt: number | undefined): Promise<"written" | "unchanged" | "waiting" | "failed"> {
    const scope = this.#scope();
    let output: string;
    const started = performance.now();
    try {
      output = t.compiled.render(scope);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      t.lastError = error.message;
      // Whatever changes next may fix it.
      t.waitingFor = new Set();
      this.#logger.error("render", "render failed; the last good output stays", { error: error.message });
      this.#onceFailed(error);
      return "failed";
    } finally {
      if (!sameKeys(t.dependencies, scope.used)) this.#dependenciesChanged = true;
      t.dependencies = scope.used;
      t.lastPassMs = performance.now() - started;
    }
    t.waitingFor = scope.waitingFor;
    if (scope.missing.size > 0) {
      this.#logger.debug("render", "waiting for data", { template: t.spec.source, missing: [...scope.missing] });
      return "waiting";
    }
    this.#reportRefusals(t, scope);
    this.#reportCatalogGaps(t);
    t.rendered = true;
    t.lastError = undefined;
    if (this.#config.dry) {
      const diff = unifiedDiff(t.spec.destination, await readIfExists(t.spec.destination), output);
      if (diff) this.#stdout.write(diff);
      return diff ? "written" : "unchanged";
    }
    // Instance counts are the empty-file guard's input, and only it needs them.
    const counts = t.guard ? this.#serviceCounts(scope.used) : undefined;
    if (counts && this.#guardHolds(t, counts)) return "failed";
    let candidate: Candidate | undefined;
    let staged = 0;
    try {
      const writing = performance.now();
      candidate = await stageWrite(t.spec.destination, output, t.written);
      staged = performance.now();
      if (!candidate) {
        this.#logger.debug("render", "unchanged, not written", { destination: t.spec.destination });
        t.writeFailures = 0;
        return "unchanged";
      }
      const check = t.spec.check ?? this.#config.check;
      if (check) {
        const result = await checkCandidate(check, candidate, { timeoutMs: this.#config.commandTimeoutMs, signal: this.#controller.signal, logger: this.#logger });
        if (!result.ok) {
          await candidate.discard();
          // Stopped by shutdown: nothing was wrong with the file.
          if (result.cancelled) return "failed";
          t.lastError = `check failed (${result.timedOut ? "timed out" : `exit ${result.exitCode ?? "?"}`})`;
          this.#metrics?.checkFailures.inc({ template: t.spec.destination });
          this.#logger.error("render", "check failed: destination untouched, no reload", { destination: t.spec.destination, command: check, exitCode: result.exitCode, timedOut: result.timedOut || undefined, output: result.output });
          this.#onceFailed(new CommandFailedError(`--once: the check refused ${t.spec.destination} (${t.lastError}); the file was not written`));
          return "failed";
        }
      }
      const committing = performance.now();
      const inPlace = await candidate.commit();
      const done = performance.now();
      t.written = inPlace ? undefined : candidate.written;
      // Where the time went, from the answer that changed the data to the file in place.
      const timing = { renderMs: logMs(t.lastPassMs), writeMs: logMs(staged - writing + done - committing), sinceChangeMs: changedAt === undefined ? undefined : logMs(done - changedAt) };
      this.#logger.info("render", inPlace ? "rendered (rename refused, wrote in place)" : "rendered", { destination: t.spec.destination, bytes: output.length, ...timing });
    } catch (error) {
      if (!(error instanceof RenderWriteError)) throw error;
      await candidate?.discard();
      return this.#writeFailed(t, error);
    }
    t.writeFailures = 0;
    t.previous = candidate.previous;
    if (counts) t.guard?.written(counts);
    return "written";
  }

  // A full disk or a bad destination is one line, the old file stays, and the write is retried.
  #writeFailed(t: TemplateState, error: RenderWriteError): "failed" {
    t.lastError = error.message;
    this.#metrics?.writeFailures.inc({ template: t.spec.destination });
    if (this.#config.once) {
      this.#logger.error("render", "cannot write; the old file stays", { destination: t.spec.destination, error: error.message });
      this.#onceFailed(error);
      return "failed";
    }
    const retryInMs = backoffDelayMs(t.writeFailures++, { baseMs: 500, maxMs: 30_000 });
    this.#logger.error("render", "cannot write; the old file stays, retrying", { destination: t.spec.destination, error: error.message, retryInMs });
    this.#dirty.add(t);
    this.#retryLater(retryInMs);
    return "failed";
  }

  #reportRefusals(t: TemplateState, scope: RenderScope): void {
    const { added, cleared } = t.refusals.update(scope.refusals);
    for (const r of added) this.#logger.warn("render", "value refused: left out of the file", { destination: t.spec.destination, where: r.where, field: r.field, reason: r.reason });
    for (const r of cleared) this.#logger.info("render", "value no longer refused", { destination: t.spec.destination, where: r.where, field: r.field });
    if (added.length > 0) this.#metrics?.refusals.inc({ template: t.spec.destination }, added.length);
    this.#metrics?.refusedNow.set({ template: t.spec.destination }, t.refusals.list().length);
  }

  // Warn once per service that the catalog does not list: an empty backend may be an ACL gap.
  #reportCatalogGaps(t: TemplateState): void {
    const gaps = this.#catalog.missing(t.dependencies.values());
    for (const gap of gaps) {
      if (!t.notInCatalog.includes(gap)) this.#logger.warn("render", "not in the catalog, or hidden from this token: rendered with no instances", { destination: t.spec.destination, dependency: gap });
    }
    t.notInCatalog = gaps;
  }

  #serviceCounts(used: ReadonlyMap<string, Dependency>): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, dependency] of used) {
      const { data } = this.#watcher.read(key);
      if (dependency.service !== undefined && Array.isArray(data)) counts.set(dependency.description, data.length);
    }
    return counts;
  }

  // The empty-file guard (off unless configured): hold a big shrink until it has persisted.
  #guardHolds(t: TemplateState, counts: ReadonlyMap<string, number>): boolean {
    const verdict = t.guard?.check(counts);
    if (!verdict) return false;
    if (!verdict.hold) {
      if (verdict.released) this.#logger.warn("render", "guard: the shrink persisted, writing it", { destination: t.spec.destination, change: verdict.released });
      return false;
    }
    this.#logger.warn("render", "guard: holding the last file back", { destination: t.spec.destination, change: verdict.violation, holdMs: Math.round(verdict.leftMs) });
    t.lastError = `guard: ${verdict.violation}`;
    this.#dirty.add(t);
    this.#retryLater(verdict.leftMs);
    return true;
  }

  #dependenciesChanged = true;

  #syncWatches(): void {
    if (!this.#dependenciesChanged) return;
    this.#dependenciesChanged = false;
    const wanted = new Map<string, Dependency>();
    for (const t of this.#templates) {
      for (const [key, dep] of t.dependencies) {
        wanted.set(key, dep);
        if (dep.service !== undefined) {
          const catalog = this.#catalog.dependency(dep.datacenter);
          wanted.set(catalog.key, catalog);
        }
      }
    }
    this.#watcher.sync(wanted);
  }

  /** Stops watching and waits for the cycle in flight; leaves no temp files behind. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#quiescence.cancel();
      clearTimeout(this.#retryTimer);
      await this.#templateFiles?.close();
      // Commands in flight are stopped first (their process groups terminated), so a hung
      // reload cannot hold shutdown; the cycle then ends without starting anything new.
      this.#controller.abort();
      await this.#cycle.catch(() => undefined);
      await this.#watcher.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
