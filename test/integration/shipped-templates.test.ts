import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { runCli } from "../helpers/cli.js";
import { ConsulAgent, repoRoot } from "../helpers/consul-agent.js";
import { WorkDir } from "../helpers/workdir.js";

const run = promisify(execFile);
const templates = { haproxy: join(repoRoot, "templates/haproxy.hbs"), nginx: join(repoRoot, "templates/nginx.hbs") };
const validate = {
  haproxy: (file: string) => run("haproxy", ["-c", "-f", file]),
  nginx: (file: string) => run("nginx", ["-t", "-c", file]),
};

describe("shipped templates render configs that HAProxy and nginx accept", () => {
  let dir: WorkDir;
  before(async () => {
    dir = await WorkDir.create();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  const catalogs: Record<string, { ID: string; Name: string; Port: number; Tags: string[] }[]> = {
    "no services": [],
    "one service": [{ ID: "web-1", Name: "web", Port: 8001, Tags: ["http"] }],
    "many services, host and path routing": [
      ...Array.from({ length: 30 }, (_, i) => ({ ID: `app${i}-1`, Name: `app${i}`, Port: 9000 + i, Tags: ["http"] })),
      { ID: "api-1", Name: "api", Port: 7001, Tags: ["http", "path=/api", "path=/v2/api"] },
      { ID: "shop-1", Name: "shop", Port: 7002, Tags: ["http", "host=shop.example.com", "host=www.shop.example.com"] },
      { ID: "internal-1", Name: "internal", Port: 7003, Tags: ["grpc"] },
    ],
    "odd names": [
      { ID: "dots-1", Name: "my.dotted.service", Port: 8101, Tags: ["http"] },
      { ID: "upper-1", Name: "Upper-Case", Port: 8102, Tags: ["http"] },
      { ID: "digit-1", Name: "9lives", Port: 8103, Tags: ["http"] },
      { ID: "under-1", Name: "under_score-x", Port: 8104, Tags: ["http"] },
      { ID: "same-id", Name: "a.b", Port: 8105, Tags: ["http"] },
      { ID: "same-id-2", Name: "a_b", Port: 8106, Tags: ["http"] },
    ],
  };

  for (const [label, services] of Object.entries(catalogs)) {
    for (const kind of ["haproxy", "nginx"] as const) {
      it(`${kind}: ${label}`, async () => {
        await using consul = await ConsulAgent.create();
        for (const s of services) await consul.registerService(s);
        const out = dir.file(`${kind}-${label.replaceAll(/\W/g, "_")}.cfg`);
        const result = await runCli(["render", "--consul", consul.address, "--once", "-t", `${templates[kind]}:${out}`], { CONSULATE_LISTEN: "127.0.0.1:18080", CONSULATE_NGINX_PID: dir.file("nginx.pid"), CONSULATE_NGINX_ERROR_LOG: dir.file("nginx-error.log") });
        assert.equal(result.code, 0, result.stderr);
        await validate[kind](out);
        const config = await readFile(out, "utf8");
        for (const s of services.filter((x) => x.Tags.includes("http"))) assert.ok(config.includes(`127.0.0.1:${s.Port}`), `${s.Name} is in the config`);
        assert.ok(!config.includes(":7003"), "services without the http tag are left out");
      });
    }
  }

  it("the tag is configurable through Consul KV", async () => {
    await using consul = await ConsulAgent.create();
    await consul.registerService({ ID: "g-1", Name: "grpc-svc", Port: 7100, Tags: ["edge"] });
    await consul.putKey("consulate/http-tag", "edge");
    const out = dir.file("kv-tag.cfg");
    const result = await runCli(["render", "--consul", consul.address, "--once", "-t", `${templates.haproxy}:${out}`], { CONSULATE_LISTEN: "127.0.0.1:18080" });
    assert.equal(result.code, 0, result.stderr);
    assert.match(await readFile(out, "utf8"), /server g_1-fe81d880 127\.0\.0\.1:7100/);
  });
});
