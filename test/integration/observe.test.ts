import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { CliProcess, waitForFile } from "../helpers/cli.js";
import { ConsulAgent } from "../helpers/consul-agent.js";
import { freePort } from "../helpers/ports.js";
import { WorkDir } from "../helpers/workdir.js";

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

describe("--listen: metrics, health and status of a running renderer", () => {
  let dir: WorkDir;
  before(async () => {
    dir = await WorkDir.create();
  });
  after(async () => {
    await dir[Symbol.asyncDispose]();
  });

  it("reports unhealthy with the reason until Consul answers and the file is rendered; then counts renders and commands", async () => {
    await using consul = await ConsulAgent.create({ start: false });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const source = await dir.write("obs.hbs", '{{#each (service "obs")}}{{ID}}:{{Port}}\n{{/each}}');
    const out = dir.file("obs.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--listen", `127.0.0.1:${port}`, "-t", `${source}:${out}`, "--exec", "true"]);
    await cli.waitForLog((l) => l.msg === "waiting for Consul, retrying with backoff");
    const down = await get(`${base}/healthz`);
    assert.equal(down.status, 503);
    assert.match(down.text, /unhealthy: Consul at 127\.0\.0\.1:\d+ is unreachable/);

    await consul.start();
    await consul.registerService({ ID: "obs-1", Name: "obs", Port: 5101 });
    await waitForFile(out, (c) => c === "obs-1:5101\n");
    await cli.waitForLog((l) => l.msg === "command succeeded");
    assert.deepEqual(await get(`${base}/healthz`), { status: 200, text: "ok\n" });

    const metrics = (await get(`${base}/metrics`)).text;
    assert.match(metrics, new RegExp(`consulate_renders_total\\{template="${out.replaceAll("/", "\\/")}",result="written"\\} [1-9]`));
    assert.match(metrics, /consulate_commands_total\{result="success"\} [1-9]/);
    assert.match(metrics, /consulate_consul_request_errors_total\{kind="unreachable"\} [1-9]/);
    // The service, and the catalog list that tells "no instances" from "not in the catalog".
    assert.match(metrics, /consulate_watches 2/);

    const status = JSON.parse((await get(`${base}/status`)).text) as { templates: { destination: string; rendered: boolean; dependencies: { description: string; instances: number }[] }[] };
    assert.equal(status.templates[0]!.destination, out);
    assert.equal(status.templates[0]!.rendered, true);
    assert.deepEqual(status.templates[0]!.dependencies.map((d) => [d.description, d.instances]), [['service "obs"', 1]]);
    assert.equal((await cli.stop()).code, 0);
  });

  it("the status page at / shows templates and registrator state in a real browser (headless Chromium)", async () => {
    await using consul = await ConsulAgent.create();
    await consul.registerService({ ID: "page-1", Name: "page", Port: 5201 });
    const port = await freePort();
    const source = await dir.write("page.hbs", '{{#each (service "page")}}{{ID}}\n{{/each}}');
    const out = dir.file("page.cfg");
    await using cli = new CliProcess(["render", "--consul", consul.address, "--listen", `127.0.0.1:${port}`, "-t", `${source}:${out}`]);
    await waitForFile(out, (c) => c === "page-1\n");
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 500 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForSelector("#templates tbody tr");
      assert.equal(await page.textContent("#health"), "healthy");
      const row = (await page.textContent("#templates tbody tr")) ?? "";
      assert.ok(row.includes(out) && row.includes('service "page"') && row.includes(", 1)"), row);
      const table = await page.$("#templates");
      const box = await table!.boundingBox();
      assert.ok(box && box.height > 40, "the table has a rendered data row");
      await page.waitForSelector("#events tbody tr");
      assert.match((await page.textContent("#events")) ?? "", /render\s*rendered destination=/);
      const shot = await page.screenshot({ path: dir.file("status.png") });
      assert.ok(shot.length > 5_000, "the screenshot shows a rendered page");
    } finally {
      await browser.close();
    }
    assert.equal((await cli.stop()).code, 0);
  });
});
