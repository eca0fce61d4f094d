import { isDeepStrictEqual } from "node:util";

/** What names a list item across answers: an instance's ID, a service's or node's name, a key. */
function identityOf(item: unknown): string | undefined {
  if (!item || typeof item !== "object") return undefined;
  const o = item as Record<string, unknown>;
  // One service ID can be registered on several nodes.
  if (typeof o.ID === "string") return `ID\u0000${o.ID}\u0000${typeof o.Node === "string" ? o.Node : ""}`;
  for (const field of ["Key", "Name", "Node"]) if (typeof o[field] === "string") return `${field}\u0000${o[field]}`;
  return undefined;
}

/**
 * A new answer with every list item that did not change replaced by the object already held.
 * Incremental rendering compares data by identity: when one service joins a list of 5,000, the
 * other 4,999 stay the same objects, and so do their rendered items.
 */
export function shareUnchanged<T>(previous: unknown, next: T): T {
  if (!Array.isArray(previous) || !Array.isArray(next) || previous.length === 0) return next;
  const held = new Map<string, unknown>();
  for (const item of previous) {
    const id = identityOf(item);
    if (id !== undefined) held.set(id, item);
  }
  let changed = false;
  const shared = next.map((item: unknown) => {
    const id = identityOf(item);
    const old = id === undefined ? undefined : held.get(id);
    if (old !== undefined && isDeepStrictEqual(old, item)) return old;
    changed = true;
    return item;
  });
  // Every item known and in the same order: the previous list is the same list.
  if (!changed && shared.length === previous.length && shared.every((item, i) => item === previous[i])) return previous as T;
  return shared as T;
}
