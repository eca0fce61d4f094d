import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import type { ResolvedTls } from "../consul/tls.js";

/** The TLS flags, as Consul's own CLI names them. */
export interface TlsFlags {
  caFile?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsServerName?: string;
  tlsSkipVerify?: boolean;
}

/** `consul.tls` in the config file. */
export interface TlsFileSettings {
  readonly caFile?: string;
  readonly caPath?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly skipVerify?: boolean;
}


function read(file: string, source: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${source}: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
}

function readCaPath(dir: string, source: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(pem|crt|cer)$/i.test(n)).sort();
  } catch (error) {
    throw new ConfigError(`${source}: cannot read the directory ${dir} (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (names.length === 0) throw new ConfigError(`${source}: ${dir} holds no .pem, .crt or .cer file`);
  return names.map((n) => read(join(dir, n), source));
}

function pick<T>(...candidates: [T | undefined, string][]): [T, string] | undefined {
  const found = candidates.find(([value]) => value !== undefined && value !== "");
  return found as [T, string] | undefined;
}

/**
 * Flags over `consul.tls` over Consul's environment variables (`CONSUL_CACERT`, `CONSUL_CAPATH`,
 * `CONSUL_CLIENT_CERT`, `CONSUL_CLIENT_KEY`, `CONSUL_TLS_SERVER_NAME`, `CONSUL_HTTP_SSL_VERIFY`).
 * Undefined when nothing TLS-specific is set (https then uses the system's CAs).
 */
export function resolveTls(flags: TlsFlags, file: TlsFileSettings, env: NodeJS.ProcessEnv, where: (key: string) => string): ResolvedTls | undefined {
  const caFile = pick([flags.caFile, "--ca-file"], [file.caFile, where("caFile")], [env.CONSUL_CACERT, "CONSUL_CACERT"]);
  const caPath = pick([flags.caPath, "--ca-path"], [file.caPath, where("caPath")], [env.CONSUL_CAPATH, "CONSUL_CAPATH"]);
  const cert = pick([flags.clientCert, "--client-cert"], [file.certFile, where("certFile")], [env.CONSUL_CLIENT_CERT, "CONSUL_CLIENT_CERT"]);
  const key = pick([flags.clientKey, "--client-key"], [file.keyFile, where("keyFile")], [env.CONSUL_CLIENT_KEY, "CONSUL_CLIENT_KEY"]);
  const serverName = pick([flags.tlsServerName, "--tls-server-name"], [file.serverName, where("serverName")], [env.CONSUL_TLS_SERVER_NAME, "CONSUL_TLS_SERVER_NAME"]);
  const verifyEnv = env.CONSUL_HTTP_SSL_VERIFY?.toLowerCase();
  const skipVerify = flags.tlsSkipVerify ?? file.skipVerify ?? (verifyEnv === "false" || verifyEnv === "0");
  if (!caFile && !caPath && !cert && !key && !serverName && !skipVerify) return undefined;
  if (Boolean(cert) !== Boolean(key)) throw new ConfigError(`${(cert ?? key)![1]}: a client certificate needs its key and the key its certificate (--client-cert with --client-key)`);
  const ca = [...(caFile ? [read(caFile[0], caFile[1])] : []), ...(caPath ? readCaPath(caPath[0], caPath[1]) : [])];
  return Object.freeze({
    ca: ca.length > 0 ? ca : undefined,
    cert: cert ? read(cert[0], cert[1]) : undefined,
    key: key ? read(key[0], key[1]) : undefined,
    serverName: serverName?.[0],
    skipVerify,
    caSource: caFile ? `${caFile[1]} ${caFile[0]}` : caPath ? `${caPath[1]} ${caPath[0]}` : "the system's CAs",
    certSource: cert ? `${cert[1]} ${cert[0]}` : undefined,
  });
}
