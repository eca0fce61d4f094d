import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent, repoRoot } from "../helpers/consul-agent.js";
import { freePort } from "../helpers/ports.js";
import { hostileCorpus, type Registration } from "../helpers/hostile-corpus.js";
import { NamedBackend, ProxyProcess, request } from "../helpers/proxy.js";
import { WorkDir } from "../helpers/workdir.js";

const run = promisify(execFile);
describe("a hostile catalog against the shipped templates, real HAProxy and nginx", () => {
  let consul: ConsulAgent;
  let dir: WorkDir;
  const backends: Record<string, NamedBackend> = {};
  const ports = { haproxy: 0, nginx: 0, status: 0 };
  let cli: CliProcess;
  const out = { haproxy: "", nginx: "" };
  let corpus: Registration[];

  before(async () => {
    [consul, dir] = await Promise.all([ConsulAgent.create(), WorkDir.create()]);
    for (const name of ["web", "shop", "api", "meta", "late", "evil"]) backends[name] = await NamedBackend.start(name);
    const b = (name: string) => backends[name]!.port;
    corpus = hostileCorpus(b("evil"));
    for (const s of corpus) await consul.registerService(s, "passing");
    // Benign services, some with a hostile instance or hostile meta beside good ones.
    await consul.registerService({ ID: "web-1", Name: "web", Port: b("web"), Tags: ["http"] }, "passing");
    await consul.registerService({ ID: "web-evil-address", Name: "web", Port: b("evil"), Address: "127.0.0.1 weight 0 # ", Tags: ["http"] }, "passing");
    await consul.registerService({ ID: "web-evil-address2", Name: "web", Port: b("evil"), Address: "127.0.0.1:1 backup", Tags: ["http"] }, "passing");
    await consul.registerService({ ID: "shop-1", Name: "shop", Port: b("shop"), Tags: ["http", "host=shop.example.com"] }, "passing");
    await consul.registerService({ ID: "api-1", Name: "api", Port: b("api"), Tags: ["http", "path=/api"] }, "passing");
    await consul.registerService({ ID: "meta-1", Name: "meta", Port: b("meta"), Tags: ["http"], Meta: { note: "} server { return 200 pwned; }" } }, "passing");
    ports.haproxy = await freePort();
    ports.nginx = await freePort();
    ports.status = await freePort();
    out.haproxy = dir.file("haproxy.cfg");
    out.nginx = dir.file("nginx.conf");
    cli = new CliProcess(
      ["render", "--consul", consul.address, "--listen", `127.0.0.1:${ports.status}`, "-t", `${join(repoRoot, "templates/haproxy.hbs")}:${out.haproxy}`, "-t", `${join(repoRoot, "templates/nginx.hbs")}:${out.nginx}`],
      { CONSULATE_LISTEN: `127.0.0.1:${ports.haproxy}`, CONSULATE_NGINX_PID: dir.file("nginx.pid"), CONSULATE_NGINX_ERROR_LOG: dir.file("nginx-error.log") },
    );
    await waitForFile(out.haproxy, (c) => c.includes("backend"));
    // Registered after the hostile ones: must still appear.
    await consul.registerService({ ID: "late-1", Name: "late", Port: b("late"), Tags: ["http", "host=late.example.com"] }, "passing");
    for (const file of [out.haproxy, out.nginx]) await waitForFile(file, (c) => c.includes(`127.0.0.1:${b("late")}`));
  });
  after(async () => {
    await cli?.stop();
    await Promise.all(Object.values(backends).map((b) => b.close()));
    await Promise.all([consul?.close(), dir?.[Symbol.asyncDispose]()]);
  });

  it("HAProxy: the config passes haproxy -c and holds exactly the benign routes, backends and servers", async () => {
    await run("haproxy", ["-c", "-q", "-f", out.haproxy]);
    const config = await readFile(out.haproxy, "utf8");
    // Backends are named after their service, servers after their instance ID: stable names.
    const lines = config.split("\n").filter((l) => !l.startsWith("#"));
    const b = (name: string) => backends[name]!.port;
    assert.deepEqual(lines.filter((l) => l.includes("use_backend")).map((l) => l.trim()).sort(), [
      "use_backend be_api if { path_beg /api }",
      "use_backend be_late if { hdr(host),field(1,:) -i late.example.com }",
      "use_backend be_meta if { hdr(host),field(1,:) -i meta.localhost }",
      "use_backend be_shop if { hdr(host),field(1,:) -i shop.example.com }",
      "use_backend be_web if { hdr(host),field(1,:) -i web.localhost }",
    ].sort());
    assert.deepEqual(lines.filter((l) => l.startsWith("backend ")), ["backend no_service", "backend be_api", "backend be_late", "backend be_meta", "backend be_shop", "backend be_web"]);
    assert.deepEqual(lines.filter((l) => l.trim().startsWith("server ")).map((l) => l.trim().split(" ").slice(0, 3).join(" ")), [
      `server api_1-9b691e7d 127.0.0.1:${b("api")}`,
      `server late_1-81c23a4f 127.0.0.1:${b("late")}`,
      `server meta_1-6f163e3a 127.0.0.1:${b("meta")}`,
      `server shop_1-d0824b47 127.0.0.1:${b("shop")}`,
      `server web_1-76b7b71f 127.0.0.1:${b("web")}`,
    ]);
    assert.ok(!config.includes(String(b("evil"))), "no line reaches the evil backend");
  });

  it("nginx: the config passes nginx -t and holds exactly the benign servers, locations and upstreams", async () => {
    await run("nginx", ["-t", "-q", "-c", out.nginx]);
    const config = await readFile(out.nginx, "utf8");
    const b = (name: string) => backends[name]!.port;
    assert.deepEqual([...config.matchAll(/^\s*upstream u\d+_(\S+) \{/gm)].map((m) => m[1]), ["api", "late", "meta", "shop", "web"]);
    assert.deepEqual(config.match(/server_name [^;]+/g), ["server_name late.example.com", "server_name meta.localhost", "server_name shop.example.com", "server_name web.localhost", "server_name _"]);
    assert.deepEqual(config.match(/location \S+/g), ["location /", "location /", "location /", "location /", "location /api", "location /"]);
    assert.deepEqual(config.match(/server 127\.0\.0\.1:\d+/g), ["api", "late", "meta", "shop", "web"].map((n) => `server 127.0.0.1:${b(n)}`));
    assert.ok(!/pwned|always_true|evil/.test(config), "no hostile text in the file");
  });

  for (const kind of ["haproxy", "nginx"] as const) {
    it(`${kind}: requests through the real proxy reach only benign backends`, async () => {
      if (kind === "nginx") {
        // nginx listens where CONSULATE_LISTEN says: the HAProxy port. Render nginx's on its own port.
        const text = (await readFile(out.nginx, "utf8")).replaceAll(`127.0.0.1:${ports.haproxy}`, `127.0.0.1:${ports.nginx}`);
        await writeFile(dir.file("nginx-run.conf"), text);
      }
      const port = ports[kind];
      const proxy = await ProxyProcess.start(kind, kind === "haproxy" ? out.haproxy : dir.file("nginx-run.conf"), port);
      try {
        backends.evil!.hits = 0;
        const ask = async (host: string, path = "/") => (await request(port, host, path))?.body;
        assert.equal(await ask("web.localhost"), "web");
        assert.equal(await ask("shop.example.com"), "shop");
        assert.equal(await ask("late.example.com"), "late");
        assert.equal(await ask("anything.example", "/api/x"), "api");
        assert.equal(await ask("meta.localhost"), "meta");
        // Every host and path the hostile entries tried to capture.
        for (const host of ["x", "a.example", "b.example", "xn--shp-ved.example.com", "pwned", "evil", "anything.example"]) {
          for (const path of ["/", "/x", "/a", "/$host", "/a{"]) {
            const answer = await request(port, host, path);
            assert.notEqual(answer?.body, "evil", `${host}${path} reached the evil backend`);
            assert.ok(answer?.status === 503 || answer?.status === 404 || answer?.status === 400, `${host}${path}: ${answer?.status} ${answer?.body}`);
          }
        }
        for (let i = 0; i < 10; i++) assert.equal(await ask("web.localhost"), "web", "no hostile server was added to web's backend");
        assert.equal(backends.evil!.hits, 0);
      } finally {
        await proxy.close();
      }
    });
  }

  it("each refused value is reported once, naming service, field and reason", () => {
    const refused = cli.logs().filter((l) => l.msg === "value refused: left out of the file");
    const haproxyRefusals = refused.filter((l) => l.destination === out.haproxy);
    const where = new Set(haproxyRefusals.map((l) => String(l.where)));
    for (const s of corpus) assert.ok([...where].some((w) => w.includes(JSON.stringify(s.Name.length > 60 ? `${s.Name.slice(0, 60)}…` : s.Name))), `${s.ID} is reported`);
    assert.ok(haproxyRefusals.some((l) => l.where === 'service "web" instance "web-evil-address"' && l.field === "Address"));
    assert.ok(haproxyRefusals.some((l) => l.field === 'tag "host=x } or { always_true"' && /not a host name/.test(String(l.reason))));
    assert.ok(haproxyRefusals.some((l) => /more than 253/.test(String(l.reason))));
    assert.equal(new Set(haproxyRefusals.map((l) => `${String(l.where)}|${String(l.field)}`)).size, haproxyRefusals.length, "once each");
  });

  it("/readyz, /status and the metrics report the degradation; the file keeps updating", async () => {
    const base = `http://127.0.0.1:${ports.status}`;
    const ready = await fetch(`${base}/readyz`);
    const text = await ready.text();
    assert.equal(ready.status, 200, "left-out values degrade the files, they do not stop them");
    assert.match(text, /^degraded: \d+ problems, left out of the files:/);
    assert.match(text, /service "web" instance "web-evil-address": Address: "127\.0\.0\.1 weight 0 # " is not an IP address or host name/);
    const status = (await (await fetch(`${base}/status`)).json()) as { templates: { destination: string; refused: { where: string; field: string }[] }[] };
    const haproxy = status.templates.find((t) => t.destination === out.haproxy)!;
    assert.ok(haproxy.refused.some((r) => r.where === 'service "hijack-or"' && r.field === 'tag "host=x } or { always_true"'));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const gauge = new RegExp(`consulate_refused_values\\{template="${out.haproxy.replaceAll("/", "\\/")}"\\} (\\d+)`).exec(metrics);
    assert.equal(Number(gauge?.[1]), haproxy.refused.length);
    assert.ok(haproxy.refused.length >= corpus.length + 2);
  });

  it("a hostile KV value leaves out what uses it; routes that do not use it stay", async () => {
    await consul.putKey("consulate/domain", "localhost } or { always_true");
    await waitForFile(out.haproxy, (c) => !c.includes("web.localhost"));
    const config = await readFile(out.haproxy, "utf8");
    await run("haproxy", ["-c", "-q", "-f", out.haproxy]);
    assert.ok(config.includes("-i shop.example.com"), "host-tag routes do not use the domain");
    assert.ok(!config.includes("always_true"));
    await consul.deleteKey("consulate/domain");
    await waitForFile(out.haproxy, (c) => c.includes("web.localhost"));
  });
});
