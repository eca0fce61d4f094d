import { ConfigError } from "../errors.js";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration (`250ms`, `2s`, `1m30s`) or a bare number of seconds into ms.
 * @example parseDuration("1m30s", "--wait") // 90000
 */
export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed !== trimmed) {
    throw new ConfigError(`${option}: expected a duration such as 500ms, 2s or 1m30s, got "${text}"`);
  }
  return Math.round(parts.reduce((ms, [, n, unit]) => ms + Number(n) * (units[unit ?? "s"] ?? 0), 0));
}

export interface Quiescence {
  readonly minMs: number;
  readonly maxMs: number;
}

/** `--wait 2s:10s`; max defaults to 4 × min, as in consul-template. */
export function parseWait(text: string, option = "--wait"): Quiescence {
  const [minText, maxText, extra] = text.split(":");
  if (minText === undefined || extra !== undefined) {
    throw new ConfigError(`${option}: expected <min>[:<max>] such as 2s:10s, got "${text}"`);
  }
  const minMs = parseDuration(minText, option);
  const maxMs = maxText === undefined ? minMs * 4 : parseDuration(maxText, option);
  if (maxMs < minMs) {
    throw new ConfigError(`${option}: max (${maxText}) must not be less than min (${minText})`);
  }
  return { minMs, maxMs };
}
