import type { Command } from "commander";

/** TLS to the agent, as Consul's own CLI names it; shared by `render` and `registrator`. */
export function addTlsOptions(command: Command): Command {
  return command
    .option("--ca-file <file>", "PEM CA that signed the agent's certificate ($CONSUL_CACERT)")
    .option("--ca-path <dir>", "directory of PEM CA files ($CONSUL_CAPATH)")
    .option("--client-cert <file>", "client certificate for agents with verify_incoming ($CONSUL_CLIENT_CERT)")
    .option("--client-key <file>", "the client certificate's key ($CONSUL_CLIENT_KEY)")
    .option("--tls-server-name <name>", "name to verify the agent's certificate against ($CONSUL_TLS_SERVER_NAME)")
    .option("--tls-skip-verify", "do not verify the agent's certificate ($CONSUL_HTTP_SSL_VERIFY=false); tests only");
}
