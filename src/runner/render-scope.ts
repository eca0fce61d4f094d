import type { Dependency, QueryDefaults } from "../dependency/dependency.js";
import { ConfigError, type RefusedValueError } from "../errors.js";
import { defaultMaxValueLength } from "../template/contexts.js";
import { HelperError, type DataKind, type DataScope, type Lookup } from "../template/scope.js";
import { createDependency } from "./dependency-factory.js";

export interface DataSource {
  read(key: string): { hasData: boolean; data: unknown };
}

/**
 * One render pass's view of the data: records every dependency the template used and the ones
 * still missing. Dependencies are created once per (kind, argument, options) and reused.
 */
export interface RefusalPolicy {
  /** skip: leave the item with a refused value out; fail: fail the render (the file stays). */
  readonly onUnsafe: "skip" | "fail";
  readonly maxValueLength: number;
}

export class RenderScope implements DataScope {
  readonly used = new Map<string, Dependency>();
  readonly missing = new Set<string>();
  /** Values refused during this pass (and left out, with onUnsafe "skip"). */
  readonly refusals: RefusedValueError[] = [];
  readonly maxValueLength: number;

  constructor(
    private readonly source: DataSource,
    private readonly defaults: QueryDefaults,
    private readonly cache: Map<string, Dependency>,
    private readonly policy: RefusalPolicy = { onUnsafe: "skip", maxValueLength: defaultMaxValueLength },
  ) {
    this.maxValueLength = policy.maxValueLength;
  }

  refused(refusal: RefusedValueError): boolean {
    this.refusals.push(refusal);
    return this.policy.onUnsafe === "skip";
  }

  lookup(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): Lookup {
    const dependency = this.#dependency(kind, arg, options);
    this.used.set(dependency.key, dependency);
    const { hasData, data } = this.source.read(dependency.key);
    // `key` waits until the key exists; keyOrDefault and keyExists only until Consul answered.
    const ready = hasData && !(kind === "key" && data === null);
    if (!ready) this.missing.add(dependency.description);
    return { ready, data };
  }

  #dependency(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): Dependency {
    let cacheKey = `${kind === "keyValue" ? "key" : kind}\u0000${arg}`;
    for (const name in options) cacheKey += `\u0000${name}=${options[name]}`;
    let dependency = this.cache.get(cacheKey);
    if (!dependency) {
      try {
        dependency = createDependency(kind, arg, options, this.defaults);
      } catch (error) {
        if (error instanceof ConfigError) throw new HelperError(error.message, undefined);
        throw error;
      }
      this.cache.set(cacheKey, dependency);
    }
    return dependency;
  }
}
