import { ConfigError } from "../errors.js";

export interface ConsulAddress {
  readonly protocol: "http:" | "https:";
  readonly host: string;
  readonly port: number;
}

/**
 * Accepts `host:port`, `http://host:port`, `https://host:port` and registrator's
 * `consul://host:port`; the port defaults to 8500 (8501 for https).
 */
export function parseConsulAddress(text: string, option = "--consul"): ConsulAddress {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text.replace(/^consul:/i, "http:") : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`${option}: expected host:port or http(s)://host:port, got "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${option}: unsupported scheme "${url.protocol}" (use http, https or consul)`);
  }
  const port = url.port === "" ? (url.protocol === "https:" ? 8501 : 8500) : Number(url.port);
  return { protocol: url.protocol, host: url.hostname.replace(/^\[|\]$/g, ""), port };
}

export function formatConsulAddress(address: ConsulAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${address.protocol}//${host}:${address.port}`;
}
