import { Option, type Command } from "commander";
import type { RenderFlags } from "../config/resolve-render.js";
import type { RegistratorFlags } from "../config/resolve-registrator.js";
import type { CommonFlags } from "../config/resolve-common.js";

/** What `render` (with or without --registrator) parses. */
export interface RenderCommandFlags extends RenderFlags, RegistratorFlags {
  registrator?: boolean;
}

/** What `registrator` parses. */
export interface RegistratorCommandFlags extends RegistratorFlags, CommonFlags {}

/** The flags `render` and `registrator` share: the agent, the token, TLS, logging, --listen. */
export function addCommonOptions(command: Command): Command {
  return command
    .option("--consul <addr>", "Consul agent: host:port, http(s)://… or consul://… (default $CONSUL_HTTP_ADDR, then 127.0.0.1:8500)")
    .option("--token <token>", "ACL token (default $CONSUL_HTTP_TOKEN); never logged")
    .option("--token-file <file>", "file holding the ACL token (default $CONSUL_HTTP_TOKEN_FILE)")
    .option("--allow-anonymous", "run without a token even where the agent enforces ACLs (it hides what the anonymous token may not read)")
    .option("--ca-file <file>", "PEM CA that signed the agent's certificate ($CONSUL_CACERT)")
    .option("--ca-path <dir>", "directory of PEM CA files ($CONSUL_CAPATH)")
    .option("--client-cert <file>", "client certificate for agents with verify_incoming ($CONSUL_CLIENT_CERT)")
    .option("--client-key <file>", "the client certificate's key ($CONSUL_CLIENT_KEY)")
    .option("--tls-server-name <name>", "name to verify the agent's certificate against ($CONSUL_TLS_SERVER_NAME)")
    .option("--tls-skip-verify", "do not verify the agent's certificate ($CONSUL_HTTP_SSL_VERIFY=false); tests only")
    .addOption(new Option("--log-level <level>", "debug, info, warn or error").choices(["debug", "info", "warn", "error"]))
    .addOption(new Option("--log-format <format>", "json (default when stderr is not a terminal) or text").choices(["json", "text"]))
    .option("--listen <host:port>", "serve /metrics, /healthz, /readyz, /status and a status page here (off by default)");
}
