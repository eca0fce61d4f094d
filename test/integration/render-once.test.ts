import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

describe("consulate render --once against a real Consul agent", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;

  before(async () => {
    consul = await ConsulAgent.create();
    dir = await WorkDir.create();
    await consul.registerService({ ID: "web-1", Name: "web", Port: 8001, Tags: ["blue", "http"] }, "passing");
    await consul.registerService({ ID: "web-2", Name: "web", Port: 8002, Address: "127.0.0.22", Tags: ["green"] }, "warning");
    await consul.registerService({ ID: "web-3", Name: "web", Port: 8003, Tags: ["blue"] }, "critical");
    await consul.registerService({ ID: "web-4", Name: "web", Port: 8004, Tags: ["blue"], Meta: { weight: "7" } });
    await consul.registerService({ ID: "db-1", Name: "db", Port: 5432 });
    await consul.putKey("app/name", "shop");
    await consul.putKey("app/limits/max", "10");
    await consul.putKey("app/limits/min", "1");
  });
  after(async () => {
    await consul.close();
    await dir[Symbol.asyncDispose]();
  });

  async function render(template: string, extra: string[] = []): Promise<string> {
    const source = await dir.write(`t-${Math.random()}.hbs`, template);
    const out = `${source}.out`;
    const result = await runCli(["render", "--consul", consul.address, "--once", "--once-timeout", "10s", "-t", `${source}:${out}`, ...extra]);
    assert.equal(result.code, 0, result.stderr);
    return readFile(out, "utf8");
  }

  it("lists only passing instances by default, sorted by node then ID, with consul-template's fields", async () => {
    const out = await render('{{#each (service "web")}}{{ID}} {{Address}}:{{Port}} {{Status}} {{Node}} [{{join Tags ","}}] w={{Meta.weight}}\n{{/each}}');
    assert.equal(out, "web-1 127.0.0.1:8001 passing consulate-test [blue,http] w=\nweb-4 127.0.0.1:8004 passing consulate-test [blue] w=7\n");
  });

  it("honours status=passing,warning and status=any", async () => {
    const some = await render('{{#each (service "web" status="passing,warning")}}{{ID}}={{Status}} {{/each}}');
    assert.equal(some, "web-1=passing web-2=warning web-4=passing ");
    const all = await render('{{#each (service "web" status="any")}}{{ID}}={{Status}} {{/each}}');
    assert.equal(all, "web-1=passing web-2=warning web-3=critical web-4=passing ");
  });

  it("selects by tag with tag.name and keeps the service's own address over the node's", async () => {
    const out = await render('{{#each (service "green.web" status="any")}}{{ID}} {{Address}} {{NodeAddress}}{{/each}}|{{#each (service "blue.web")}}{{ID}} {{/each}}');
    assert.equal(out, "web-2 127.0.0.22 127.0.0.1|web-1 web-4 ");
  });

  it("lists catalog services sorted by name with their tags, whatever their health", async () => {
    const out = await render("{{#each (services)}}{{Name}}:{{join Tags \",\"}} {{/each}}");
    assert.equal(out, "consul: db: web:blue,green,http ");
  });

  it("reads KV with key, keyOrDefault, keyExists, ls and tree", async () => {
    const out = await render(
      '{{key "app/name"}} {{keyOrDefault "app/none" "fallback"}} {{keyExists "app/name"}} {{keyExists "app/none"}}|{{#each (ls "app")}}{{Key}}={{Value}} {{/each}}|{{#each (tree "app")}}{{Key}}={{Value}} {{/each}}',
    );
    assert.equal(out, "shop fallback true false|name=shop |limits/max=10 limits/min=1 name=shop ");
  });

  it("renders nodes, node and datacenters, and the block form of service with an else branch", async () => {
    const out = await render('{{#each (nodes)}}{{Node}} {{Address}}{{/each}}|{{#node "consulate-test"}}{{Node.Node}}:{{#each Services}}{{ID}},{{/each}}{{/node}}|{{join (datacenters) ","}}|{{#service "nothing"}}x{{else}}empty{{/service}}');
    assert.equal(out, "consulate-test 127.0.0.1|consulate-test:consul,db-1,web-1,web-2,web-3,web-4,|dc1|empty");
  });

  it("applies the text helpers people need in config files", async () => {
    const out = await render('{{identifier "9my.web-app"}} {{toUpper "a"}}{{toLower "B"}} {{replace "a-b-c" "-" "_"}} {{join (split "x,y" ",") "+"}} {{#if (contains (split "a,b" ",") "b")}}yes{{/if}} {{default "" "d"}} {{toJSON (split "q" ",")}} {{#if (and (eq 1 1) (or false (gt 3 2)) (not ""))}}logic{{/if}} {{env "CONSULATE_TEST_ENV"}}', []);
    assert.equal(out, '_9my_web_app Ab a_b_c x+y yes d ["q"] logic ');
  });

  it("groups instances by tag with byTag", async () => {
    const out = await render('{{#each (byTag (service "web"))}}{{@key}}:{{#each this}}{{ID}},{{/each}} {{/each}}');
    assert.equal(out, "blue:web-1,web-4, http:web-1, ");
  });

  it("--once gives up after --once-timeout naming the dependency that never arrived", async () => {
    const source = await dir.write("wait.hbs", '{{key "never/there"}}');
    const result = await runCli(["render", "--consul", consul.address, "--once", "--once-timeout", "1s", "-t", `${source}:${source}.out`]);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /gave up after 1000 ms; still waiting for key "never\/there"/);
    await assert.rejects(readFile(`${source}.out`), { code: "ENOENT" });
  });

  it("--dry prints a unified diff and writes nothing", async () => {
    const source = await dir.write("dry.hbs", '{{#each (service "db")}}{{ID}}:{{Port}}{{/each}}\n');
    const out = dir.file("dry.out");
    const result = await runCli(["render", "--consul", consul.address, "--once", "--dry", "-t", `${source}:${out}`, "--exec", `touch ${dir.file("ran")}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\+db-1:5432$/m);
    assert.match(result.stdout, /^--- \/dev\/null/m);
    await assert.rejects(readFile(out), { code: "ENOENT" });
    await assert.rejects(readFile(dir.file("ran")), { code: "ENOENT" });
  });
});
