import { parseConfig, type ParsedConfig, type Section, type ServerLine } from "./config.js";
import { tableRows } from "./table.js";

/** One change HAProxy's Runtime API can make to a running backend. */
export type RuntimeOp =
  | { readonly op: "add"; readonly backend: string; readonly server: ServerLine }
  | { readonly op: "remove"; readonly backend: string; readonly name: string }
  | { readonly op: "update"; readonly backend: string; readonly name: string; readonly address: string; readonly port: number; readonly weight: number | undefined };

export type RuntimePlan = { readonly kind: "runtime"; readonly ops: readonly RuntimeOp[] } | { readonly kind: "reload"; readonly reason: string };

/**
 * Settings `add server` takes on HAProxy 2.6 that a plan may pass on, with how many values follow
 * each. A server line with any other setting is added by a reload.
 */
const addable = new Map<string, number>([
  ["check", 0], ["no-check", 0], ["backup", 0], ["inter", 1], ["fastinter", 1], ["downinter", 1], ["rise", 1], ["fall", 1],
  ["weight", 1], ["maxconn", 1], ["minconn", 1], ["maxqueue", 1], ["slowstart", 1], ["check-port", 1], ["port", 1], ["id", 1],
]);

/** The settings of a server line other than `weight <n>`, and its weight. */
function splitWeight(settings: readonly string[]): { rest: string; weight: number | undefined } {
  const rest: string[] = [];
  let weight: number | undefined;
  for (let i = 0; i < settings.length; i++) {
    if (settings[i] === "weight" && i + 1 < settings.length) weight = Number(settings[++i]);
    else rest.push(settings[i]!);
  }
  return { rest: rest.join(" "), weight };
}

function unaddable(server: ServerLine): string | undefined {
  for (let i = 0; i < server.settings.length; i++) {
    const values = addable.get(server.settings[i]!);
    if (values === undefined) return server.settings[i];
    i += values;
  }
  return undefined;
}

/**
 * What may go into a Runtime API command as one word. The CLI splits a line on blanks and runs
 * each `;`-separated part as a command of its own (`add server b/x;set weight b/s 0 …` changes
 * another server), and a backslash escapes: a file with such a word goes by reload, whatever
 * template wrote it.
 */
const commandWord = /^[A-Za-z0-9_.:@%+=,~/[\]-]+$/;

/** The first word of an operation that could not be passed on as one word. */
function unsafeWord(op: RuntimeOp): string | undefined {
  const words = op.op === "add" ? [op.backend, op.server.name, op.server.address, ...op.server.settings] : op.op === "update" ? [op.backend, op.name, op.address] : [op.backend, op.name];
  return words.find((w) => !commandWord.test(w));
}

function describe(section: Section): string {
  return `${section.kind}${section.name ? ` ${section.name}` : ""}`;
}

/** The first difference outside server lines, or undefined when there is none. */
function structuralChange(running: ParsedConfig, next: ParsedConfig): string | undefined {
  const count = Math.max(running.sections.length, next.sections.length);
  for (let i = 0; i < count; i++) {
    const before = running.sections[i];
    const after = next.sections[i];
    if (!before || !after) return after ? `${describe(after)} is new` : `${describe(before!)} is gone`;
    if (before.kind !== after.kind || before.name !== after.name) return `${describe(after)} stands where ${describe(before)} was`;
    const lines = Math.max(before.lines.length, after.lines.length);
    for (let j = 0; j < lines; j++) {
      const [was, now] = [before.lines[j], after.lines[j]];
      if (was === now) continue;
      const added = now !== undefined && !before.lines.includes(now);
      const gone = was !== undefined && !after.lines.includes(was);
      if (added && gone) return `${describe(after)}: "${was}" became "${now}"`;
      if (added) return `${describe(after)}: "${now}" is new`;
      if (gone) return `${describe(after)}: "${was}" is gone`;
      return `${describe(after)}: its lines are in another order`;
    }
  }
  return undefined;
}

/**
 * How to go from the configuration HAProxy runs to the next one: by Runtime API commands when
 * they differ only in the `server` lines of backends that exist in both (servers added, removed,
 * or moved to another address, port or weight); otherwise by a reload, with the reason.
 * A pure function: the same two texts always give the same plan.
 */
export function planRuntimeUpdate(runningText: string, nextText: string): RuntimePlan {
  const running = parseConfig(runningText);
  const next = parseConfig(nextText);
  const unsupported = next.unsupported ?? running.unsupported;
  if (unsupported) return { kind: "reload", reason: unsupported };
  const structural = structuralChange(running, next);
  if (structural) return { kind: "reload", reason: structural };
  const ops: RuntimeOp[] = [];
  for (const [i, after] of next.sections.entries()) {
    const before = running.sections[i]!;
    const backend = after.name;
    for (const name of before.servers.keys()) if (!after.servers.has(name)) ops.push({ op: "remove", backend, name });
    for (const [name, server] of after.servers) {
      const old = before.servers.get(name);
      if (!old) {
        const setting = unaddable(server);
        if (setting !== undefined) return { kind: "reload", reason: `${describe(after)}: server ${name} has "${setting}", which add server does not take` };
        if (server.port === undefined) return { kind: "reload", reason: `${describe(after)}: server ${name} has no port` };
        ops.push({ op: "add", backend, server });
        continue;
      }
      const was = splitWeight(old.settings);
      const now = splitWeight(server.settings);
      if (was.rest !== now.rest) return { kind: "reload", reason: `${describe(after)}: the settings of server ${name} changed` };
      if (old.address === server.address && old.port === server.port && was.weight === now.weight) continue;
      if (server.port === undefined || old.port === undefined) return { kind: "reload", reason: `${describe(after)}: server ${name} has no port` };
      ops.push({ op: "update", backend, name, address: server.address, port: server.port, weight: now.weight });
    }
  }
  const unsafe = ops.map(unsafeWord).find((w) => w !== undefined);
  if (unsafe !== undefined) return { kind: "reload", reason: `${JSON.stringify(unsafe)} cannot be passed to the Runtime API as one word` };
  return { kind: "runtime", ops };
}

/** `global server-state-file <path>` (with `server-state-base`), where a reload finds the servers' state. */
export function serverStateFile(text: string): string | undefined {
  const global = parseConfig(text).sections.find((s) => s.kind === "global");
  const setting = (keyword: string) => global?.lines.find((l) => l.startsWith(`${keyword} `))?.slice(keyword.length + 1);
  const file = setting("server-state-file");
  if (!file) return undefined;
  const base = setting("server-state-base");
  return file.startsWith("/") || !base ? file : `${base.replace(/\/$/, "")}/${file}`;
}

/**
 * The rows of a `show servers state` dump that still describe the next configuration: servers it
 * keeps, at the same address and port. The version line and the header stay.
 */
export function keepMatchingState(dump: string, nextText: string): string {
  const servers = new Map<string, ServerLine>();
  for (const section of parseConfig(nextText).sections) for (const [name, server] of section.servers) servers.set(`${section.name}/${name}`, server);
  const [version = "", header = "", ...rows] = dump.split("\n");
  const kept = tableRows(header, rows, " ").filter((row) => {
    const server = servers.get(`${row.field("be_name")}/${row.field("srv_name")}`);
    return server !== undefined && server.address === row.field("srv_addr") && String(server.port) === row.field("srv_port");
  });
  return [version, header, ...kept.map((row) => row.text)].join("\n");
}
