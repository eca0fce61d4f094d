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
}

/** Where a helper was called from, for error messages. */
export interface HelperLocation {
  readonly line: number;
  readonly column: number;
}

export class HelperError extends Error {
  constructor(
    message: string,
    readonly location: HelperLocation | undefined,
  ) {
    super(message);
  }
}
