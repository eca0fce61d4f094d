import type { Dependency } from "../dependency/dependency.js";
import { ConfigError, type RefusedValueError } from "../errors.js";
import { defaultMaxValueLength } from "../template/contexts.js";
import { HelperError, type DataKind, type DataScope, type Lookup } from "../template/scope.js";
import type { DependencyCache } from "./dependency-factory.js";

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
  /** The keys of the dependencies in `missing`. */
  readonly waitingFor = new Set<string>();
  /** Values refused during this pass (and left out, with onUnsafe "skip"). */
  readonly refusals: RefusedValueError[] = [];
  readonly maxValueLength: number;

  constructor(
    private readonly source: DataSource,
    private readonly cache: DependencyCache,
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
    if (!ready) {
      this.missing.add(dependency.description);
      this.waitingFor.add(dependency.key);
    }
    return { ready, data };
  }

  #dependency(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): Dependency {
    try {
      return this.cache.get(kind, arg, options);
    } catch (error) {
      if (error instanceof ConfigError) throw new HelperError(error.message, undefined);
      throw error;
    }
  }
}
