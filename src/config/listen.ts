import { ConfigError } from "../errors.js";
import type { ListenAddress } from "../observe/status.js";

/**
 * `--listen host:port` (`[::1]:9100`, `:9100` for 127.0.0.1). Port 0 picks a free one.
 * @example parseListen("127.0.0.1:9100", "--listen") // { host: "127.0.0.1", port: 9100 }
 */
export function parseListen(text: string, source: string): ListenAddress {
  const at = text.lastIndexOf(":");
  const hostText = at < 0 ? "" : text.slice(0, at);
  const portText = at < 0 ? "" : text.slice(at + 1);
  const host = hostText.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = Number(portText);
  const v6 = host.includes(":");
  const hostOk = v6 ? isIPv6(host) : /^(?!-)[A-Za-z0-9-]{1,63}(?:\.(?!-)[A-Za-z0-9-]{1,63})*$/.test(host);
  if (at < 0 || !/^\d{1,5}$/.test(portText) || port > 65535 || !hostOk || (v6 && !hostText.startsWith("["))) {
    throw new ConfigError(`${source}: expected host:port such as 127.0.0.1:9100 (port 0 to 65535, IPv6 in brackets), got "${text}"`);
  }
  return { host, port };
}

/** The WHATWG URL parser checks an IPv6 address as well as node:net would, without loading it. */
function isIPv6(text: string): boolean {
  try {
    return new URL(`http://[${text}]/`).hostname !== "";
  } catch {
    return false;
  }
}
