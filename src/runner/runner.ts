import type { ConsulClient } from "../consul/client.js";
import type { ResolvedRenderConfig } from "../config/resolved.js";
import { CommandFailedError } from "../errors.js";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { RendererStatus, TemplateStatus } from "../observe/status.js";
import { loadTemplate } from "../template/compile.js";
import { systemClock, type Clock } from "../time.js";
import { Watcher } from "../watch/watcher.js";
import { CatalogCheck } from "./catalog-gaps.js";
import { reloadCommandsOf, runCommands, type Swapped } from "./commands.js";
import { CycleScheduler } from "./cycles.js";
import { checkLookup, DependencyCache } from "./dependency-factory.js";
import { OnceOutcome } from "./once.js";
import { Quiescence } from "./quiescence.js";
import { RenderScope } from "./render-scope.js";
import { RuntimeUpdates } from "./runtime-updates.js";
import { TemplateRenderer } from "./template-renderer.js";
import { ShrinkGuard } from "./shrink-guard.js";
import { TemplateFiles } from "./template-files.js";
import { watchSettings } from "./watch-settings.js";
import { missingOf, newTemplateState, templateStatus, wantedDependencies, type TemplateState } from "./template-state.js";

export interface RunnerOptions {
  readonly config: ResolvedRenderConfig;
  readonly client: ConsulClient;
  readonly logger: Logger;
  /** Where `--dry` prints its diffs. */
  readonly stdout?: NodeJS.WritableStream;
  readonly metrics?: Metrics;
  readonly clock?: Clock;
}

/**
 * The renderer: which templates to render again after which dependency changed, when (the
 * quiescence), and what follows a render (publish, then each command once per cycle).
 */
export class Runner implements RendererStatus {
  readonly #config: ResolvedRenderConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #clock: Clock;
  readonly #watcher: Watcher;
  readonly #templates: TemplateState[] = [];
  readonly #dirty = new Set<TemplateState>();
  readonly #dependencyCache: DependencyCache;
  /** The catalog lists watched to tell "no instances" from "not in the catalog". */
  readonly #catalog: CatalogCheck;
  readonly #quiescence: Quiescence;
  readonly #cycles: CycleScheduler;
  readonly #once: OnceOutcome;
  readonly #renderer: TemplateRenderer;
  /** HAProxy runtime updates, when a template has --haproxy-socket. */
  readonly #runtime: RuntimeUpdates | undefined;
  readonly #controller = new AbortController();
  #templateFiles: TemplateFiles | undefined;
  #dependenciesChanged = true;
  #closing: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    const { config, logger } = options;
    this.#config = config;
    this.#logger = logger;
    this.#metrics = options.metrics;
    this.#clock = options.clock ?? systemClock;
    this.#watcher = new Watcher({
      ...watchSettings(config, options.client.multiplexed, this.#clock),
      client: options.client,
      logger,
      onChange: (key) => this.#dependencyChanged(key),
      metrics: options.metrics,
    });
    this.#dependencyCache = new DependencyCache({ stale: config.maxStaleMs > 0 });
    this.#catalog = new CatalogCheck((key) => this.#watcher.read(key), config.maxStaleMs > 0);
    this.#cycles = new CycleScheduler(() => this.#runCycle(), (error) => this.#cycleFailed(error), this.#clock);
    this.#quiescence = new Quiescence(config.wait.minMs, config.wait.maxMs, () => this.#cycles.schedule(), this.#clock);
    this.#once = new OnceOutcome(config.once, this.#clock);
    this.#runtime = config.templates.some((t) => t.haproxy) ? new RuntimeUpdates({ logger, metrics: options.metrics, clock: this.#clock, timeoutMs: 5_000 }) : undefined;
    this.#renderer = new TemplateRenderer({
      config,
      logger,
      metrics: options.metrics,
      stdout: options.stdout ?? process.stdout,
      clock: this.#clock,
      signal: this.#controller.signal,
      data: this.#watcher,
      catalog: this.#catalog,
      once: this.#once,
      scope: () => this.#scope(),
      retry: (t, ms) => {
        this.#dirty.add(t);
        this.#cycles.later(ms);
      },
      dependenciesChanged: () => (this.#dependenciesChanged = true),
    });
  }

  get reachable(): boolean | undefined {
    return this.#watcher.reachable;
  }

  get watchCount(): number {
    return this.#watcher.size;
  }

  /** Every template's state, for /status and /healthz. */
  templates(): TemplateStatus[] {
    return this.#templates.map((t) => templateStatus(t, this.#watcher));
  }

  /**
   * Loads every template and runs a first render pass, throwing TemplateError for a template
   * that does not parse or calls a helper wrongly, before anything is written; then watches.
   */
  async start(): Promise<void> {
    for (const spec of this.#config.templates) {
      const compiled = await loadTemplate(spec.source, checkLookup);
      this.#templates.push(newTemplateState(spec, compiled, this.#config.guard ? new ShrinkGuard(this.#config.guard, () => this.#clock.now()) : undefined));
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
    this.#cycles.schedule();
  }

  /** With --once: resolves when every template has rendered and its commands ran. */
  untilOnceDone(): Promise<void> {
    const allRendered = () => this.#templates.every((t) => t.rendered);
    // What has not answered yet (not what the last pass missed: much may have come since).
    const stillMissing = () => [...new Set(this.#templates.filter((t) => !t.rendered).flatMap(missingOf))];
    return this.#once.wait(this.#config.onceTimeoutMs, allRendered, stillMissing, this.#controller.signal);
  }

  #scope(): RenderScope {
    const { onUnsafe, maxValueLength } = this.#config;
    return new RenderScope(this.#watcher, this.#dependencyCache, { onUnsafe, maxValueLength });
  }

  async #reloadTemplate(path: string): Promise<void> {
    // Each destination compiles its own copy: a compiled template keeps its render memo.
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
      t.changedAt ??= this.#clock.now();
    }
    this.#quiescence.trigger();
  }

  #cycleFailed(error: Error): void {
    this.#logger.error("runner", "render cycle failed", { error: error.message });
    this.#once.failed(error);
  }

  async #runCycle(): Promise<void> {
    const batch = [...this.#dirty];
    this.#dirty.clear();
    const changed: TemplateState[] = [];
    for (const t of batch) {
      const changedAt = t.changedAt;
      t.changedAt = undefined;
      const result = await this.#renderer.render(t, changedAt);
      this.#metrics?.renders.inc({ template: t.spec.destination, result });
      if (result === "written") {
        t.lastRenderAt = new Date();
        this.#metrics?.lastRender.set({ template: t.spec.destination }, t.lastRenderAt.getTime() / 1000);
        changed.push(t);
      }
      // Not in the file yet: the delay goes on counting from the first change.
      else if (result === "waiting" || result === "failed") t.changedAt ??= changedAt;
    }
    if (this.#dependenciesChanged) {
      this.#dependenciesChanged = false;
      this.#watcher.sync(wantedDependencies(this.#templates, this.#catalog));
    }
    if (!this.#config.dry && changed.length > 0) await this.#runCommands(changed);
    this.#once.cycleDone(this.#templates.every((t) => t.rendered));
  }

  async #runCommands(changed: readonly TemplateState[]): Promise<void> {
    // HAProxy configs whose change the Runtime API made need no reload (their command, or --exec).
    const reload = this.#runtime ? await this.#runtime.apply(changed) : changed;
    const swapped: Swapped[] = reload.map((t) => ({ destination: t.spec.destination, previous: t.previous, command: t.spec.command }));
    const { rolledBack, failed } = await runCommands(swapped, this.#config.exec, { timeoutMs: this.#config.commandTimeoutMs, signal: this.#controller.signal, logger: this.#logger, metrics: this.#metrics });
    for (const t of reload) {
      const back = rolledBack.includes(t.spec.destination);
      this.#runtime?.reloaded(t, back ? "rolled-back" : reloadCommandsOf(t.spec.command, this.#config.exec).some((c) => failed.includes(c)) ? "failed" : "ok");
      if (!back) continue;
      t.lastError = "reload failed; previous file restored";
      this.#metrics?.rollbacks.inc({ template: t.spec.destination });
    }
    if (failed.length > 0) this.#once.failed(new CommandFailedError(`--once: ${failed.map((c) => `"${c}"`).join(", ")} failed (see the log above)`));
  }

  /** Stops watching and waits for the cycle in flight; leaves no temp files behind. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#quiescence.cancel();
      this.#cycles.stop();
      await this.#templateFiles?.close();
      // Commands in flight are stopped first (their process groups terminated), so a hung
      // reload cannot hold shutdown; the cycle then ends without starting anything new.
      this.#controller.abort();
      await this.#cycles.idle();
      await this.#runtime?.close();
      await this.#watcher.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
