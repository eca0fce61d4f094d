import { UnsafeValue } from "../untrusted.js";
import { renderEach, type BlockOptions as HelperOptions } from "./iterate.js";
import { HelperError, type DataKind, type DataScope } from "./scope.js";

type HelperFn = (...args: unknown[]) => unknown;

function split(all: unknown[]): [unknown[], HelperOptions] {
  return [all.slice(0, -1), (all.at(-1) ?? {})];
}

function scopeOf(options: HelperOptions): DataScope {
  const scope = options.data?.consulate;
  if (!scope) throw new HelperError("data helpers need a render scope", options.loc?.start);
  return scope;
}

function lookup(options: HelperOptions, kind: DataKind, arg: string, hash: Record<string, string>): { ready: boolean; data: unknown } {
  try {
    return scopeOf(options).lookup(kind, arg, hash);
  } catch (error) {
    if (error instanceof HelperError && !error.location) throw new HelperError(error.message, options.loc?.start);
    throw error;
  }
}

function stringArg(value: unknown, helper: string, options: HelperOptions, optional = false): string {
  if (value instanceof UnsafeValue) throw new HelperError(value.describe(), options.loc?.start);
  if (value === undefined && optional) return "";
  if (typeof value !== "string") throw new HelperError(`${helper}: expected a string argument, got ${value === undefined ? "nothing" : typeof value}`, options.loc?.start);
  if (!optional && value.trim() === "") throw new HelperError(`${helper}: the name must not be empty`, options.loc?.start);
  return value;
}

function hashStrings(options: HelperOptions): Record<string, string> {
  return Object.fromEntries(Object.entries(options.hash ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Block form: `{{#service "web"}}…{{else}}none{{/service}}` iterates like `#each`. */
function block(value: unknown, options: HelperOptions): unknown {
  if (!options.fn) return value;
  const items = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  return renderEach(undefined, items, options);
}

function listHelper(kind: DataKind, helper: string, argOptional: boolean): HelperFn {
  return (...all) => {
    const [[arg], options] = split(all);
    const { ready, data } = lookup(options, kind, stringArg(arg, helper, options, argOptional), hashStrings(options));
    return block(ready ? data : [], options);
  };
}

/** The data each helper reads (keyOrDefault and keyExists accept a missing key). */
export const helperKinds: Readonly<Record<string, DataKind>> = {
  service: "service", services: "services", ls: "ls", tree: "tree", nodes: "nodes", datacenters: "datacenters", node: "node",
  key: "key", keyOrDefault: "keyValue", keyExists: "keyValue",
};

export const dataHelpers: Record<string, HelperFn> = {
  service: listHelper("service", "service", false),
  services: listHelper("services", "services", true),
  ls: listHelper("ls", "ls", false),
  tree: listHelper("tree", "tree", false),
  nodes: listHelper("nodes", "nodes", true),
  datacenters: listHelper("datacenters", "datacenters", true),
  node: (...all) => {
    const [[arg], options] = split(all);
    const { ready, data } = lookup(options, "node", stringArg(arg, "node", options), {});
    return block(ready ? data : null, options);
  },
  // Waits until the key exists: the template is not written before.
  key: (...all) => {
    const [[arg], options] = split(all);
    // Handlebars compiles `{{@key}}` as a call of a known helper named `key`: give it `@key` back.
    if (all.length === 1) return options.data?.key;
    const { ready, data } = lookup(options, "key", stringArg(arg, "key", options), {});
    return ready ? data : "";
  },
  keyOrDefault: (...all) => {
    const [[arg, fallback], options] = split(all);
    const { ready, data } = lookup(options, "keyValue", stringArg(arg, "keyOrDefault", options), {});
    return ready && data !== null ? data : (fallback ?? "");
  },
  keyExists: (...all) => {
    const [[arg], options] = split(all);
    const { ready, data } = lookup(options, "keyValue", stringArg(arg, "keyExists", options), {});
    return ready && data !== null;
  },
};
