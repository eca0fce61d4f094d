import { Command, Option } from "commander";
import { addCommonOptions, type RegistratorCommandFlags } from "./common-options.js";

/** The registrator's flags, shared by `consulate registrator` and `consulate render --registrator`. */
export function addRegistratorOptions(command: Command): Command {
  return command
    .option("--docker <addr>", "Docker engine: unix socket path or tcp://host:port (default $DOCKER_HOST, then /var/run/docker.sock)")
    .option("--ip <addr>", "address to register every service with")
    .option("--internal", "register the container's own IP and exposed (not published) ports")
    .option("--network <name>", "with --internal: network whose address to use (per container: SERVICE_NETWORK)")
    .option("--hostname <name>", "first part of every service ID (default: this host's name)")
    .option("--tags <a,b>", "tags added to every service")
    .option("--explicit", "only containers that set SERVICE_NAME")
    .option("--resync <seconds>", "full resync period (0 = off)")
    .option("--cleanup", "remove services of this hostname whose container no longer exists")
    .option("--ttl <seconds>", "register a TTL check and keep it passing while the container runs")
    .option("--ttl-refresh <seconds>", "how often to refresh the TTL check (default ttl/2)")
    .addOption(new Option("--deregister <when>", "on container exit: always, or only when it exited with code 0").choices(["always", "on-success"]))
    .option("--deregister-on-stop", "deregister this host's services when consulate stops (default: leave them)")
    .option("--allow-script-checks", "register SERVICE_CHECK_SCRIPT checks (the agent runs a command any container chose: off by default)")
    .option("--retry-attempts <n>", "attempts to reach Consul at start-up (-1 = forever)")
    .option("--retry-interval <ms>", "pause between those attempts");
}

export function registratorCommand(): Command {
  const command = new Command("registrator")
    .description("register every published port of every running container as a service in the local Consul agent")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  return addRegistratorOptions(addCommonOptions(command))
    .addHelpText(
      "after",
      `
Examples:
  consulate registrator --ip 10.1.2.3
  consulate registrator --consul consul://127.0.0.1:8500 --cleanup --resync 60 --ttl 30`,
    )
    .action(async (flags: RegistratorCommandFlags) => {
      // Loaded when the command runs: --help and --version never load Docker or Consul clients.
      const { runRegistrator } = await import("./run-registrator.js");
      await runRegistrator(flags);
    });
}
