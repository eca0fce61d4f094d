/**
 * HAProxy's configuration structure, as far as runtime updates need it: sections, and the
 * `server` lines of backends. A line is split into words as HAProxy does (blanks separate,
 * `#` starts a comment, quotes and backslash escapes keep blanks in a word).
 */

/** One `server <name> <address>[:port] [settings…]` line. */
export interface ServerLine {
  readonly name: string;
  readonly address: string;
  /** undefined when the line gives none (the port is then the client's). */
  readonly port: number | undefined;
  /** The settings after the address, as words (`check`, `inter`, `2s`, `weight`, `3`, …). */
  readonly settings: readonly string[];
}

export interface Section {
  /** `global`, `defaults`, `frontend`, `backend`, `listen`, … */
  readonly kind: string;
  readonly name: string;
  /** Every other line of the section, as its words joined by one space (comments and blanks gone). */
  readonly lines: readonly string[];
  /** The section's server lines by name, in order. */
  readonly servers: ReadonlyMap<string, ServerLine>;
}

export interface ParsedConfig {
  readonly sections: readonly Section[];
  /** Why the text cannot be reasoned about line by line (runtime updates then fall back to a reload). */
  readonly unsupported: string | undefined;
}

const sectionKeywords = new Set(["global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "mailers", "program", "http-errors", "ring", "cache", "namespace_list", "crt-store", "traces"]);

/** Splits one line into words; undefined when a quote is left open. */
export function words(line: string): string[] | undefined {
  const result: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += c;
      continue;
    }
    if (c === "#") break;
    if (c === " " || c === "\t") {
      if (word !== undefined) result.push(word);
      word = undefined;
      continue;
    }
    word ??= "";
    if (c === '"' || c === "'") quote = c;
    else if (c === "\\" && i + 1 < line.length) word += line[++i]!;
    else word += c;
  }
  if (quote) return undefined;
  if (word !== undefined) result.push(word);
  return result;
}

function serverLine(parts: readonly string[]): ServerLine | undefined {
  const [, name, target, ...settings] = parts;
  if (!name || !target) return undefined;
  // `host:port`, `[v6]:port`, `v6` alone: the port is what follows the last colon outside brackets.
  const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(target);
  if (bracketed) return { name, address: bracketed[1]!, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]), settings };
  const colons = target.split(":").length - 1;
  if (colons === 1) {
    const [address, port] = target.split(":") as [string, string];
    if (!/^\d+$/.test(port)) return undefined;
    return { name, address, port: Number(port), settings };
  }
  return { name, address: target, port: undefined, settings };
}

/** Parses the text of a configuration; never throws. */
export function parseConfig(text: string): ParsedConfig {
  const sections: { kind: string; name: string; lines: string[]; servers: Map<string, ServerLine> }[] = [];
  let unsupported: string | undefined;
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, "");
    if (/\\$/.test(line.replace(/#.*$/, "").trimEnd())) {
      unsupported ??= `line ${i + 1} ends with a backslash (a continued line)`;
      continue;
    }
    const parts = words(line);
    if (!parts) {
      unsupported ??= `line ${i + 1}: a quote is not closed`;
      continue;
    }
    if (parts.length === 0) continue;
    const [keyword = ""] = parts;
    if (sectionKeywords.has(keyword)) {
      sections.push({ kind: keyword, name: parts.slice(1).join(" "), lines: [], servers: new Map() });
      continue;
    }
    const section = sections.at(-1);
    if (!section) {
      unsupported ??= `line ${i + 1}: a setting outside any section`;
      continue;
    }
    if (keyword === "server" && (section.kind === "backend" || section.kind === "listen")) {
      const server = serverLine(parts);
      if (!server || section.servers.has(server.name)) {
        unsupported ??= `line ${i + 1}: ${server ? `server ${server.name} appears twice in ${section.kind} ${section.name}` : "a server line without a name and an address"}`;
        continue;
      }
      section.servers.set(server.name, server);
      continue;
    }
    section.lines.push(parts.join(" "));
  }
  return { sections, unsupported };
}
