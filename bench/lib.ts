import { watch } from "node:fs";
import { readFile, readdir, readlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { LineSplitter } from "../src/docker/line-splitter.js";
import { ConsulAgent } from "../test/helpers/consul-agent.js";

/** The built command, run as users run it (its #! line and flags included): `npm run build` first. */
export const cli = new URL("../dist/src/cli/main.js", import.meta.url).pathname;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Loads `services × instances` into the catalog through /v1/txn (64 operations per
 * transaction, several transactions in flight): instance i of every service lives on node i.
 */
export async function loadCatalog(consul: ConsulAgent, services: number, instances: number): Promise<void> {
  const nodes = Array.from({ length: instances }, (_, n) => ({ Node: { Verb: "set", Node: { Node: `node-${n}`, Address: `127.0.1.${n + 1}` } } }));
  const created = await fetch(`${consul.url}/v1/txn`, { method: "PUT", body: JSON.stringify(nodes) });
  if (!created.ok) throw new Error(`txn: ${created.status} ${await created.text()}`);
  const ops: object[] = [];
  for (let s = 0; s < services; s++) {
    for (let n = 0; n < instances; n++) {
      ops.push({ Service: { Verb: "set", Node: `node-${n}`, Service: { ID: `svc-${s}-${n}`, Service: `svc-${s}`, Port: 20000 + n, Tags: ["http"] } } });
    }
  }
  const batches: object[][] = [];
  for (let i = 0; i < ops.length; i += 64) batches.push(ops.slice(i, i + 64));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const res = await fetch(`${consul.url}/v1/txn`, { method: "PUT", body: JSON.stringify(batch) });
        if (!res.ok) throw new Error(`txn: ${res.status} ${await res.text()}`);
      }
    }),
  );
}

/** Registers one more instance of a service through the catalog, as the benchmark's "change". */
export async function addInstance(consul: ConsulAgent, service: string, id: string, port: number, node = "node-0"): Promise<void> {
  const res = await fetch(`${consul.url}/v1/catalog/register`, {
    method: "PUT",
    body: JSON.stringify({ Node: node, Address: "127.0.1.1", Service: { ID: id, Service: service, Port: port } }),
  });
  if (!res.ok) throw new Error(`register: ${res.status}`);
}

/**
 * `repetitions` times: add an instance to the service `serviceFor(i)` names, and time it until
 * the rendered file lists it (ms each). `pauseMs` apart (200 by default), so each change stands alone.
 */
export async function changeLatencies(
  consul: ConsulAgent,
  out: string,
  repetitions: number,
  serviceFor: (i: number) => string,
  { idPrefix = "added", portBase = 32000, pauseMs = 200 }: { idPrefix?: string; portBase?: number; pauseMs?: number } = {},
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    await new Promise((r) => setTimeout(r, pauseMs));
    const id = `${idPrefix}-${i}`;
    const written = whenFile(out, (c) => c.includes(`${id} `));
    const t0 = performance.now();
    await addInstance(consul, serviceFor(i), id, portBase + i);
    samples.push((await written) - t0);
  }
  return samples;
}

/**
 * A bare Node script (for \`node --input-type=module -e\`) that makes the reads consulate makes
 * for a first render over every service: the service list, then one snapshot of the catalog
 * (\`/v1/internal/ui/nodes\`); it writes the same lines as the benchmarks' template to $OUT.
 * $ORIGIN is the agent (http or https, with $CA).
 */
export const bareSnapshotRender = `
import http from "node:http";
import https from "node:https";
import { readFileSync, writeFileSync } from "node:fs";
const origin = new URL(process.env.ORIGIN);
const ca = process.env.CA ? readFileSync(process.env.CA) : undefined;
const get = (path) => new Promise((resolve, reject) => (origin.protocol === "https:" ? https : http).get(origin.href.replace(/\\/$/, "") + path, { ca }, (res) => {
  const c = []; res.on("data", (d) => c.push(d)); res.on("end", () => resolve(JSON.parse(Buffer.concat(c).toString())));
}).on("error", reject));
const names = Object.keys(await get("/v1/catalog/services")).filter((n) => n.startsWith("svc-")).sort();
const byName = new Map();
for (const node of await get("/v1/internal/ui/nodes")) for (const s of node.Services ?? []) {
  if (!byName.has(s.Service)) byName.set(s.Service, []);
  byName.get(s.Service).push("  server " + s.ID + " " + (s.Address || node.Address) + ":" + s.Port + "\\n");
}
writeFileSync(process.env.OUT, names.map((n) => "backend " + n + "\\n" + byName.get(n).sort().join("")).join(""));
`;

/**
 * `count` times: a bare blocking query on `path` (a fetch, as a plain script would make it), woken
 * by `change(i)`; ms from the change to the whole answer read.
 */
export async function wakeLatencies(consul: ConsulAgent, path: string, count: number, change: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const first = await fetch(`${consul.url}/v1${path}`);
    const index = first.headers.get("x-consul-index");
    await first.arrayBuffer();
    const answered = fetch(`${consul.url}/v1${path}?index=${index}&wait=30s`).then(async (r) => {
      await r.arrayBuffer();
      return performance.now();
    });
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await change(i);
    samples.push((await answered) - start);
  }
  return samples;
}

/** Resolves (with performance.now()) when `path` holds contents matching `predicate`. */
export function whenFile(path: string, predicate: (contents: string) => boolean, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = async () => {
      const contents = await readFile(path, "utf8").catch(() => "");
      if (!done && predicate(contents)) {
        done = true;
        const at = performance.now();
        watcher.close();
        clearTimeout(timer);
        clearInterval(poll);
        resolve(at);
      }
    };
    // The renderer renames a temp file over the destination: watch the directory.
    const watcher = watch(dirname(path), (_event, name) => {
      if (name === basename(path)) void check();
    });
    const poll = setInterval(() => void check(), 200);
    const timer = setTimeout(() => {
      done = true;
      watcher.close();
      clearInterval(poll);
      reject(new Error(`${path}: timed out`));
    }, timeoutMs);
    void check();
  });
}

/**
 * TCP connections from process `pid` to `port` right now, read from /proc (no child process: a
 * sampler that spawns `ss` every 50 ms costs the measured process CPU on a 2-core machine).
 */
export async function connectionsTo(port: number, pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const inodes = new Set<string>();
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }),
  );
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // remote address "HEX:PORT", state 01 = established, inode column 9
      if (f.length > 9 && f[3] === "01" && parseInt(f[2]!.split(":")[1]!, 16) === port && inodes.has(f[9]!)) count++;
    }
  }
  return count;
}

/** Calls `onEntry` with each JSON line a stream carries (a child's log, Docker's event stream). */
export function jsonLines(stream: NodeJS.ReadableStream, onEntry: (entry: Record<string, unknown>) => void): void {
  const splitter = new LineSplitter();
  stream.on("data", (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) if (line.startsWith("{")) onEntry(JSON.parse(line) as Record<string, unknown>);
  });
}

/** Resident memory of process `pid` right now, in KiB (0 once it is gone). */
export async function rssKiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
}

export function machine(): string {
  return `${process.platform} ${process.arch}, Node ${process.version}`;
}

/**
 * Replaces this benchmark's section of bench/RESULTS.md (between its own markers), keeping the
 * other benchmarks' sections.
 */
export async function writeResults(name: string, body: string): Promise<void> {
  const { readFile: read, writeFile: write } = await import("node:fs/promises");
  const path = new URL("./RESULTS.md", import.meta.url);
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${begin}\n_Written by \`bench/${name}.ts\`._\n\n${body.trim()}\n${end}`;
  let text = await read(path, "utf8").catch(() => "# Benchmark results\n\nEach section is written by the benchmark script it names (`npx tsx bench/<name>.ts`).\n");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text = from >= 0 && to > from ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  await write(path, text);
}
