import { ConfigError } from "../errors.js";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** No duration consulate takes means anything past a day; Node's timers overflow at ~24.8 days. */
export const maxDurationMs = 24 * 3_600_000;

/**
 * Parses a Go-style duration (`250ms`, `2s`, `1m30s`) or a bare number of seconds into ms.
 * `option` names where the value came from (`--wait`, `consulate.yaml:4: wait`).
 * @example parseDuration("1m30s", "--wait") // 90000
 */
export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Math.round(Number(trimmed) * 1000);
  else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    const consumed = parts.map((p) => p[0]).join("");
    if (parts.length === 0 || consumed !== trimmed) {
      throw new ConfigError(`${option}: expected a duration such as 500ms, 2s or 1m30s, got "${text}"`);
    }
    ms = Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * (units[unit ?? "s"] ?? 0), 0));
  }
  if (ms > maxDurationMs) throw new ConfigError(`${option}: "${text}" is longer than 24h, the most consulate accepts`);
  return ms;
}

/** Seconds (a number in a config file) or a duration string, into ms, bounded like parseDuration. */
export function durationValue(value: string | number, option: string): number {
  return parseDuration(typeof value === "number" ? String(value) : value, option);
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
