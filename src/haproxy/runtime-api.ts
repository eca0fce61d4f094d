/**
 * HAProxy's Runtime API on its stats socket (`stats socket … level admin`): one command per
 * connection, the answer is everything HAProxy writes before it closes.
 */
import { connect } from "node:net";
import { HaproxyRuntimeError } from "../errors.js";
import { systemClock, type Clock } from "../time.js";
import type { RuntimeOp } from "./runtime-plan.js";
import { tableRows } from "./table.js";

export interface ServerState {
  readonly backend: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  /** Bit field: 0x01 forced maintenance, 0x08 forced drain, … 0 = ready. */
  readonly adminState: number;
  readonly weight: number;
}

export interface RuntimeOptions {
  readonly timeoutMs: number;
  /** How long a leaving server may keep its connections before it is deleted. */
  readonly drainMs: number;
  readonly clock?: Clock;
}

/** Sends one command; resolves with HAProxy's answer, trimmed. */
export function runtimeCommand(socket: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = connect(socket);
    conn.setTimeout(timeoutMs, () => conn.destroy(new HaproxyRuntimeError(`${socket}: no answer to "${command}" in ${timeoutMs} ms`)));
    conn.once("connect", () => conn.end(`${command}\n`));
    conn.on("data", (chunk: Buffer) => chunks.push(chunk));
    conn.once("error", (error: NodeJS.ErrnoException) => reject(error instanceof HaproxyRuntimeError ? error : new HaproxyRuntimeError(`${socket}: ${error.code ?? error.message}`, { cause: error })));
    conn.once("close", (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString("utf8").trim());
    });
  });
}

/** `show servers state` → one row per server, by backend/name. */
export function parseServersState(text: string): Map<string, ServerState> {
  const [, header = "", ...rows] = text.split("\n");
  const states = new Map<string, ServerState>();
  for (const row of tableRows(header, rows, " ")) {
    const state: ServerState = {
      backend: row.field("be_name") ?? "",
      name: row.field("srv_name") ?? "",
      address: row.field("srv_addr") ?? "",
      port: Number(row.field("srv_port")),
      opState: Number(row.field("srv_op_state")),
      adminState: Number(row.field("srv_admin_state")),
      weight: Number(row.field("srv_uweight")),
    };
    states.set(`${state.backend}/${state.name}`, state);
  }
  return states;
}

/** `show stat` CSV → current sessions of each backend/server. */
function currentSessions(csv: string): Map<string, number> {
  const [header = "", ...rows] = csv.split("\n");
  return new Map(tableRows(header, rows, ",").map((row) => [`${row.field("pxname")}/${row.field("svname")}`, Number(row.field("scur") || 0)]));
}

const target = (backend: string, name: string) => `${backend}/${name}`;

/**
 * Applies a plan to a running HAProxy: added servers are added, their health checks enabled and
 * set ready; moved ones get their address, port and weight; leaving ones are set to drain now and
 * deleted (after maint) once they hold no connections, or after `drainMs`. Rejects with
 * HaproxyRuntimeError at the first command HAProxy refuses, or when `show servers state` does not
 * show the result; the caller then reloads.
 */
export class HaproxyRuntime {
  readonly #clock: Clock;
  readonly #draining = new Map<string, AbortController>();
  readonly #tasks = new Set<Promise<void>>();

  constructor(
    readonly socket: string,
    private readonly options: RuntimeOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
  }

  command(command: string): Promise<string> {
    return runtimeCommand(this.socket, command, this.options.timeoutMs);
  }

  async #expect(command: string, ok: (answer: string) => boolean): Promise<void> {
    const answer = await this.command(command);
    if (!ok(answer)) throw new HaproxyRuntimeError(`HAProxy refused "${command}": ${answer.split("\n")[0] || "(no answer)"}`);
  }

  async serversState(): Promise<Map<string, ServerState>> {
    return parseServersState(await this.command("show servers state"));
  }

  async apply(ops: readonly RuntimeOp[]): Promise<void> {
    const empty = (answer: string) => answer === "";
    for (const op of ops) {
      const key = target(op.backend, op.op === "add" ? op.server.name : op.name);
      if (op.op === "remove") {
        await this.#expect(`set server ${key} state drain`, empty);
        continue;
      }
      // A server still draining from an earlier change comes back: it is kept, not added again.
      const drain = this.#draining.get(key);
      drain?.abort();
      if (op.op === "add" && !drain) {
        const { server } = op;
        const address = server.address.includes(":") ? `[${server.address}]` : server.address;
        await this.#expect(`add server ${key} ${address}:${server.port} ${server.settings.join(" ")}`.trim(), (a) => a === "New server registered.");
        if (server.settings.includes("check")) await this.#expect(`enable health ${key}`, empty);
        await this.#expect(`set server ${key} state ready`, empty);
        continue;
      }
      const { address, port, weight } = op.op === "add" ? { address: op.server.address, port: op.server.port!, weight: undefined } : op;
      await this.#expect(`set server ${key} addr ${address} port ${port}`, (a) => a === "" || /changed from|no need to change/.test(a));
      if (weight !== undefined) await this.#expect(`set weight ${key} ${weight}`, empty);
      if (drain) await this.#expect(`set server ${key} state ready`, empty);
    }
    await this.#verify(ops);
    for (const op of ops) if (op.op === "remove") this.#drainThenDelete(op.backend, op.name);
  }

  /** What HAProxy says now must be what the plan wanted. */
  async #verify(ops: readonly RuntimeOp[]): Promise<void> {
    const states = await this.serversState();
    for (const op of ops) {
      const name = op.op === "add" ? op.server.name : op.name;
      const state = states.get(target(op.backend, name));
      if (op.op === "remove") {
        if (state && (state.adminState & 0x08) === 0 && (state.adminState & 0x01) === 0) throw new HaproxyRuntimeError(`HAProxy still sends to ${target(op.backend, name)}: it is not draining`);
        continue;
      }
      const want = op.op === "add" ? { address: op.server.address, port: op.server.port } : op;
      if (!state) throw new HaproxyRuntimeError(`HAProxy does not show ${target(op.backend, name)} after the update`);
      if (state.address !== want.address || state.port !== want.port) throw new HaproxyRuntimeError(`HAProxy shows ${target(op.backend, name)} at ${state.address}:${state.port}, not ${want.address}:${want.port}`);
      if ((state.adminState & 0x01) !== 0) throw new HaproxyRuntimeError(`HAProxy holds ${target(op.backend, name)} in maintenance`);
    }
  }

  #drainThenDelete(backend: string, name: string): void {
    const key = target(backend, name);
    const controller = new AbortController();
    this.#draining.set(key, controller);
    const task = (async () => {
      const deadline = this.#clock.now() + this.options.drainMs;
      while (this.#clock.now() < deadline) {
        const sessions = currentSessions(await this.command(`show stat ${backend} 4 -1`)).get(key) ?? 0;
        if (sessions === 0) break;
        if (!(await this.#clock.sleep(100, controller.signal))) return;
      }
      if (controller.signal.aborted) return;
      await this.#expect(`set server ${key} state maint`, (a) => a === "");
      // Idle connections may take a moment to be released after maint: a few tries.
      for (let attempt = 0; attempt < 20 && !controller.signal.aborted; attempt++) {
        const answer = await this.command(`del server ${key}`);
        if (answer === "Server deleted.") return;
        if (!(await this.#clock.sleep(100, controller.signal))) return;
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.#draining.get(key) === controller) this.#draining.delete(key);
        this.#tasks.delete(task);
      });
    this.#tasks.add(task);
  }

  /** Ends the drains in flight (their servers stay in HAProxy until the next reload). */
  async close(): Promise<void> {
    for (const controller of this.#draining.values()) controller.abort();
    await Promise.allSettled([...this.#tasks]);
  }
}
