import { Command, Option } from "commander";
import { addCommonOptions, type RenderCommandFlags } from "./common-options.js";
import { addRegistratorOptions } from "./registrator-command.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function renderCommand(): Command {
  const command = new Command("render")
    .description("watch Consul and render templates when the data they use changes")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .option("-t, --template <src:dest[:command]>", "template to render (repeatable); optional command runs after this file changed", collect)
    .option("-x, --exec <command>", "command run once per render cycle in which any output file changed")
    .option("--check <command>", "validate each candidate file before it replaces the destination; {{candidate}} is its path (also $CONSULATE_CANDIDATE)")
    .option("-c, --config <file>", "YAML or JSON config file with the same settings; flags override it")
    .option("--wait <min[:max]>", "quiescence before rendering, e.g. 2s:10s (max defaults to 4×min)")
    .option("--once", "render every template once all its data is there, run commands, exit")
    .option("--once-timeout <dur>", "with --once: give up after this long", "60s")
    .option("--dry", "print what would change as a unified diff per file; write nothing, run nothing")
    .option("--guard-shrink <percent>", "hold back a change that empties a service or shrinks it by more than this, until it persists (off by default)")
    .option("--guard-hold <dur>", "with --guard-shrink: how long a shrink must persist before it is written (default 30s)")
    .option("--max-stale <dur>", "allow stale reads from any server up to this lag")
    .option("--max-connections <n>", "concurrent HTTP/1.1 connections to the agent (default 180: Consul allows 200 per client address)")
    .option("--command-timeout <dur>", "kill a command's process group after this long: SIGTERM, then SIGKILL 2s later (default 30s)")
    .addOption(new Option("--on-unsafe <what>", "a catalog value refused by a context helper: leave its item out and warn (skip), or stop updating the file (fail)").choices(["skip", "fail"]))
    .option("--max-value-length <n>", "longest catalog value the context helpers accept (default 1024; host names 253)")
    .addOption(new Option("--blocking-wait <dur>", "wait time of each blocking query (default 60s)").hideHelp())
    .option("--haproxy-socket <path>", "HAProxy configs: apply instance changes through this Runtime API socket (level admin) instead of the reload command; other changes still reload")
    .option("--haproxy-drain <dur>", "with --haproxy-socket: how long a leaving server may finish its requests before it is deleted (default 10s)")
    .option("--registrator", "also run the registrator in this process (the sidecar); takes the registrator's flags");
  return addRegistratorOptions(addCommonOptions(command))
    .addHelpText(
      "after",
      `
Examples:
  consulate render --template haproxy.hbs:/etc/haproxy/haproxy.cfg --exec "systemctl reload haproxy"
  consulate render --once --dry -t nginx.hbs:/etc/nginx/conf.d/upstreams.conf
  consulate render -c consulate.yaml --wait 2s:10s
  consulate render --registrator --ip 10.1.2.3 -t templates/haproxy.hbs:/etc/haproxy/haproxy.cfg -x "systemctl reload haproxy"`,
    )
    .action(async (flags: RenderCommandFlags) => {
      // Loaded when the command runs: --help and --version never load the Consul client.
      const { runRender } = await import("./run-render.js");
      await runRender(flags);
    });
}

