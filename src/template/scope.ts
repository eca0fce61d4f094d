import type { RefusedValueError } from "../errors.js";

/** The kinds of data a template can ask for; the runner maps them to Consul dependencies. */
export type DataKind = "service" | "services" | "key" | "keyValue" | "ls" | "tree" | "nodes" | "node" | "datacenters";

export interface Lookup {
  /** True when the data has arrived; false makes the template wait (nothing is written). */
  readonly ready: boolean;
  readonly data: unknown;
}

/**
 * What a render pass reads data through. It records each dependency the template used, so the
 * runner knows what to watch and which templates a change concerns.
 */
export interface DataScope {
  lookup(kind: DataKind, arg: string, options: Readonly<Record<string, string>>): Lookup;
  /**
   * A value was refused inside an iteration (`#each`, a block data helper). True leaves that item
   * out and goes on; false (or no method) fails the whole render, and the file stays as it was.
   */
  refused?(refusal: RefusedValueError): boolean;
  /** Longest value the context helpers accept (host names: 253 whatever this says). */
  readonly maxValueLength?: number;
}

/** Where a helper was called from, for error messages. */
export interface HelperLocation {
  readonly line: number;
  readonly column: number;
}

export { HelperError } from "../errors.js";
