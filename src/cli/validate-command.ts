import { Command } from "commander";
import type { RenderFlags } from "../config/resolve-render.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `consulate validate`: checks a config file and its templates without contacting Consul. */
export function validateCommand(): Command {
  return new Command("validate")
    .description("check a config file and its templates without contacting Consul")
    .exitOverride()
    .option("-c, --config <file>", "YAML or JSON config file")
    .option("-t, --template <src:dest[:command]>", "template to check (repeatable)", collect)
    .option("--print-schema", "print the config file's JSON Schema and exit")
    .addHelpText("after", "\nExamples:\n  consulate validate -c consulate.yaml\n  consulate validate --print-schema > consulate.schema.json")
    .action(async (flags: RenderFlags & { printSchema?: boolean }) => {
      if (flags.printSchema) {
        const { renderConfigJsonSchema } = await import("../config/json-schema.js");
        process.stdout.write(`${JSON.stringify(renderConfigJsonSchema(), null, 2)}\n`);
        return;
      }
      // Loaded when the command runs, so that --help stays fast.
      const [{ resolveRenderConfig }, { checkLookup }, { loadTemplate }] = await Promise.all([import("../config/resolve-render.js"), import("../runner/dependency-factory.js"), import("../template/compile.js")]);
      const config = await resolveRenderConfig({ ...flags, logFormat: "text" }, process.env, process.cwd(), false);
      // The same checks `render` makes at start-up, data aside: arguments parsed as queries.
      for (const t of config.templates) await loadTemplate(t.source, checkLookup);
      process.stdout.write(`ok: ${config.templates.length} template${config.templates.length === 1 ? "" : "s"} valid\n`);
    });
}
