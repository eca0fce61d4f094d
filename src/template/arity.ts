/**
 * Load-time checks of helper calls, from the template's syntax tree: `{{service "a" "b"}}`,
 * `{{key}}` and `{{key ""}}` are errors with line:column before anything renders, in `render`
 * and `validate` alike. Literal arguments of data helpers go through `checkLiteral` (the runner
 * parses them as it would at render time), so `status="bogus"` is caught there too.
 */
import Handlebars from "./handlebars.js";
import { HelperError } from "../errors.js";

/** [least, most] positional arguments. */
const arities: Record<string, readonly [number, number]> = {
  service: [1, 1], services: [0, 1], ls: [1, 1], tree: [1, 1], nodes: [0, 1], datacenters: [0, 1], node: [1, 1],
  key: [1, 1], keyOrDefault: [2, 2], keyExists: [1, 1],
  byTag: [1, 1], join: [1, 2], split: [1, 2], contains: [2, 2], eq: [2, 2], ne: [2, 2], lt: [2, 2], le: [2, 2], gt: [2, 2], ge: [2, 2],
  and: [1, Infinity], or: [1, Infinity], not: [1, 1], default: [2, 2], toJSON: [1, 1], env: [1, 1], replace: [3, 3],
  toLower: [1, 1], toUpper: [1, 1], trim: [1, 1], hasPrefix: [2, 2], trimPrefix: [2, 2], tagValues: [2, 2], identifier: [1, 1], uniqueId: [1, 1], raw: [1, 1],
  hostname: [1, 1], address: [1, 1], port: [1, 1], path: [1, 1], quote: [1, 1], checkIdentifier: [1, 1], httpRoutes: [1, 2],
  if: [1, 1], unless: [1, 1], with: [1, 1], each: [1, 1], lookup: [2, 2], log: [1, Infinity],
};

/** Data helpers whose first argument names what to read: an empty literal is never right. */
const namedReads = new Set(["service", "ls", "tree", "node", "key", "keyOrDefault", "keyExists"]);

export type LiteralCheck = (helper: string, arg: string, hash: Readonly<Record<string, string>>) => void;

interface Node {
  type: string;
  loc?: { start: { line: number; column: number } };
  [key: string]: unknown;
}

interface Call extends Node {
  path: { type: string; original: string; data?: boolean };
  params: Node[];
  hash?: { pairs: { key: string; value: Node }[] };
}

function checkCall(call: Call, checkLiteral: LiteralCheck | undefined): void {
  if (call.path.type !== "PathExpression" || call.path.data) return;
  const name = call.path.original;
  const arity = arities[name];
  // With knownHelpersOnly, `{{join}}` calls the helper too: every known name is a call.
  if (!arity) return;
  const location = call.loc?.start;
  const [least, most] = arity;
  const count = call.params.length;
  if (count < least || count > most) {
    const expected = least === most ? `${least}` : most === Infinity ? `at least ${least}` : `${least} to ${most}`;
    throw new HelperError(`${name}: expected ${expected} argument${most === 1 && least === 1 ? "" : "s"}, got ${count}`, location);
  }
  const first = call.params[0];
  if (!namedReads.has(name) || first?.type !== "StringLiteral") return;
  const arg = (first as unknown as { value: string }).value;
  if (arg.trim() === "") throw new HelperError(`${name}: the name must not be empty`, location);
  const pairs = call.hash?.pairs ?? [];
  if (!pairs.every((p) => ["StringLiteral", "BooleanLiteral", "NumberLiteral"].includes(p.value.type))) return;
  const hash = Object.fromEntries(pairs.map((p) => [p.key, String((p.value as unknown as { value: unknown }).value)]));
  try {
    checkLiteral?.(name, arg, hash);
  } catch (error) {
    throw new HelperError(error instanceof Error ? error.message : String(error), location);
  }
}

function walk(node: unknown, checkLiteral: LiteralCheck | undefined): void {
  if (!node || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, checkLiteral);
    return;
  }
  const n = node as Node;
  if (n.type === "MustacheStatement" || n.type === "SubExpression" || n.type === "BlockStatement") checkCall(n as Call, checkLiteral);
  for (const key of ["body", "program", "inverse", "params", "hash", "pairs", "value"]) walk(n[key], checkLiteral);
}

/** Throws HelperError (with line and column) for the first wrong helper call in `text`. */
export function checkHelperCalls(text: string, checkLiteral?: LiteralCheck): void {
  walk(Handlebars.parse(text), checkLiteral);
}
