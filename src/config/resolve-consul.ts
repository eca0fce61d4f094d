import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { parseConsulAddress, type ConsulAddress } from "../consul/address.js";
import type { ResolvedTls } from "../consul/tls.js";
import { resolveTls, type TlsFileSettings, type TlsFlags } from "./resolve-tls.js";

/** The Consul connection flags `render` and `registrator` share. */
export interface ConsulFlags extends TlsFlags {
  consul?: string;
  token?: string;
  tokenFile?: string;
  allowAnonymous?: boolean;
}

/** The same settings from a config file, with `where` naming a key's file and line. */
export interface ConsulFileSettings {
  readonly address?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly allowAnonymous?: boolean;
  readonly tls?: TlsFileSettings;
  where?(key: string): string;
}

export interface ResolvedConsulConnection {
  readonly address: ConsulAddress;
  /** Never logged. */
  readonly token: string | undefined;
  /** ACLs on and no token is a start-up error unless this says it is meant. */
  readonly allowAnonymous: boolean;
  /** CA, client certificate, server name, verification: undefined = the defaults of https. */
  readonly tls: ResolvedTls | undefined;
}

/** The first value set, with the name of where it came from. */
function pick(...candidates: [string | undefined, string][]): [string, string] | undefined {
  const found = candidates.find(([value]) => value !== undefined);
  return found ? [found[0] as string, found[1]] : undefined;
}

function readToken(file: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${source}: cannot read token file ${file} (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  const token = text.trim();
  if (token === "") throw new ConfigError(`${source}: token file ${file} is empty; put the ACL token in it, or leave the option out to run without a token`);
  return token;
}

/**
 * Flags over the config file over the environment (`CONSUL_HTTP_ADDR`, `CONSUL_HTTP_TOKEN`,
 * `CONSUL_HTTP_TOKEN_FILE`) over defaults. Errors name where the bad value came from.
 */
export function resolveConsulConnection(flags: ConsulFlags, file: ConsulFileSettings, env: NodeJS.ProcessEnv): ResolvedConsulConnection {
  const fileKey = (key: string) => file.where?.(key) ?? `consul.${key}`;
  const [addressText, addressSource] = pick([flags.consul, "--consul"], [file.address, fileKey("address")], [env.CONSUL_HTTP_ADDR, "CONSUL_HTTP_ADDR"]) ?? ["127.0.0.1:8500", "the default address"];
  let token = pick([flags.token, "--token"], [file.token, fileKey("token")])?.[0];
  if (token === undefined) {
    const tokenFile = pick([flags.tokenFile, "--token-file"], [file.tokenFile, fileKey("tokenFile")], [env.CONSUL_HTTP_TOKEN_FILE, "CONSUL_HTTP_TOKEN_FILE"]);
    token = tokenFile ? readToken(tokenFile[0], tokenFile[1]) : env.CONSUL_HTTP_TOKEN;
  }
  const tls = resolveTls(flags, file.tls ?? {}, env, (key) => fileKey(`tls.${key}`));
  const ssl = ["true", "1"].includes(env.CONSUL_HTTP_SSL?.toLowerCase() ?? "");
  const hasScheme = /^[a-z]+:\/\//i.test(addressText);
  // As Consul's CLI: CONSUL_HTTP_SSL=true (or TLS settings) make a bare host:port an https address.
  const address = parseConsulAddress(!hasScheme && (ssl || tls) ? `https://${addressText}` : addressText, addressSource);
  if (tls && address.protocol !== "https:") throw new ConfigError(`${addressSource}: TLS settings are given, but "${addressText}" is plain http: use https://`);
  return Object.freeze({
    address,
    tls,
    token: token?.trim() || undefined,
    allowAnonymous: flags.allowAnonymous ?? file.allowAnonymous ?? false,
  });
}
