// Builds the command users run, dist/src/cli/main.js, as an ES module bundle.
//
// Why a bundle: Node loads an ES module graph file by file (resolve, read, parse, link), and
// start-up was mostly that: `consulate validate` loaded ~150 modules of our own and of commander,
// zod and YAML. Bundled, each subcommand still loads only what it needs (every dynamic import is
// a chunk of its own), in a handful of files.
//
// Packages with optional native parts or heavy graphs that only long-running commands load stay
// in node_modules, imported as they are.
import { rmSync, chmodSync } from "node:fs";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/src/cli",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  external: ["chokidar", "consul", "diff", "dockerode", "execa", "handlebars", "prom-client", "zod-to-json-schema"],
  // Bundled CommonJS (commander, YAML) calls require() for Node's own modules.
  banner: { js: 'import { createRequire as __consulateRequire } from "node:module";\nconst require = __consulateRequire(import.meta.url);' },
  logLevel: "warning",
});
chmodSync(`${root}dist/src/cli/main.js`, 0o755);
