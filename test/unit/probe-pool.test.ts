import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HealthServiceDependency } from "../../src/dependency/health-service.js";
import { ConsulRequestError } from "../../src/errors.js";
import type { ServiceSummary } from "../../src/watch/catalog-summary.js";
import { ProbePool } from "../../src/watch/probe-pool.js";
import { ManualClock, settle } from "../helpers/manual-clock.js";
import { ScriptedConsul } from "../helpers/scripted-consul.js";

const row = (Name: string, InstanceCount: number): ServiceSummary => ({ Name, Tags: [], Nodes: ["n1"], InstanceCount, ChecksPassing: InstanceCount, ChecksWarning: 0, ChecksCritical: 0 });

describe("ProbePool scheduling (injected clock)", () => {
  function pool() {
    const clock = new ManualClock();
    const consul = new ScriptedConsul();
    // Each service's own index, as Consul would report it: probes and fetches are answered from it.
    const indexes = new Map([["web", 5], ["db", 6]]);
    const down = new Set<string>();
    const requests: string[] = [];
    for (const name of indexes.keys()) {
      consul.auto.set(`/health/service/${name}`, (query) => {
        const probe = query?.filter !== undefined;
        requests.push(`${probe ? "probe" : "fetch"} ${name}`);
        if (down.has(name)) return new ConsulRequestError(`GET /health/service/${name}: connection refused`);
        return { body: [], index: indexes.get(name)!, statusCode: 200, lastContactMs: 0 };
      });
    }
    const published: string[] = [];
    const errors: number[] = [];
    const p = new ProbePool(consul, "", { waitMs: 60_000, minIntervalMs: 0, pollMs: 30_000, backoffBaseMs: 200, backoffMaxMs: 1_600, maxStaleMs: 0, clock }, 4, {
      publish: (dependency) => published.push(dependency.service ?? "?"),
      onError: (_error, attempt) => errors.push(attempt),
      onSuccess: () => errors.push(-1),
    });
    const dep = (name: string) => new HealthServiceDependency(name, {}, { stale: false });
    return { clock, consul, indexes, down, requests, published, errors, p, dep };
  }

  it("fetches new members at once; a summary change fetches only the services it names, the sweep catches the rest by index", async () => {
    const { clock, consul, indexes, requests, published, p, dep } = pool();
    p.add(dep("web"));
    p.add(dep("db"));
    await clock.advance(0);
    assert.deepEqual(published.sort(), ["db", "web"], "first data for each new member");
    const detector = consul.last();
    assert.equal(detector.path, "/internal/ui/services");
    detector.answer(10, [row("web", 2), row("db", 1)]);
    await clock.advance(0);
    requests.length = 0;
    published.length = 0;

    // web gains an instance: the summary shows it, so web is fetched without a probe first.
    indexes.set("web", 11);
    consul.last().answer(11, [row("web", 3), row("db", 1)]);
    await clock.advance(0);
    assert.equal(requests[0], "fetch web", "the fast path comes first");
    assert.deepEqual(published, ["web"]);
    assert.ok(requests.includes("probe db"), "the sweep after it probes the others");
    assert.ok(!requests.includes("fetch db"), "db's index did not move: not fetched");

    // db's instance moves to another port: same summary, but db's own index moved.
    requests.length = 0;
    published.length = 0;
    indexes.set("db", 12);
    consul.last().answer(12, [row("web", 3), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests.sort(), ["fetch db", "probe db", "probe web"]);
    assert.deepEqual(published, ["db"]);
    await p.close();
  });

  it("a sweep that fails backs off on the clock, sweeps again, and says when it succeeds", async () => {
    const { clock, consul, down, published, errors, p, dep } = pool();
    p.add(dep("web"));
    p.add(dep("db"));
    await clock.advance(0);
    consul.last().answer(10, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    down.add("db");
    consul.last().answer(11, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(errors, [0]);
    const first = clock.pending().find((ms) => ms <= 200);
    assert.ok(first !== undefined && first >= 100, `backing off ${clock.pending().join(", ")} ms`);
    await clock.advance(first);
    assert.deepEqual(errors, [0, 1], "failed again: attempt 1");
    assert.ok(clock.pending().some((ms) => ms > 200 && ms <= 400), `then a longer wait (${clock.pending().join(", ")} ms)`);
    down.delete("db");
    published.length = 0;
    await clock.advance(400);
    await settle();
    assert.deepEqual(errors, [0, 1, -1], "recovered and said so");
    down.add("db");
    consul.last().answer(12, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(errors, [0, 1, -1, 0], "the next failure counts from 0 again");
    await p.close();
  });

  it("members seeded from a snapshot are not read at once; later they are fetched only if their own index passed the snapshot's", async () => {
    const { clock, consul, indexes, requests, published, p, dep } = pool();
    // The snapshot was taken at index 20: web's own index (5) is within it, db's moved since (26).
    indexes.set("db", 26);
    p.add(dep("web"), 20);
    p.add(dep("db"), 20);
    await clock.advance(0);
    assert.deepEqual(requests, [], "no read before the detector answers");
    consul.last().answer(20, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests, [], "the detector's baseline is the snapshot's own index: nothing to sweep");
    consul.last().answer(27, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests.sort(), ["fetch db", "probe db", "probe web"]);
    assert.deepEqual(published, ["db"], "web's data stand; db moved after the snapshot");
    // From now on web is compared by its own index.
    requests.length = 0;
    consul.last().answer(28, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests.sort(), ["probe db", "probe web"]);
    await p.close();
  });

  it("an agent that comes back with lower indexes voids every index held: members are read again", async () => {
    const { clock, consul, indexes, requests, published, p, dep } = pool();
    p.add(dep("web"), 20);
    p.add(dep("db"), 20);
    await clock.advance(0);
    consul.last().answer(20, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests, []);
    // A dev agent restarted empty and filled again: every index is small, below the snapshot's.
    indexes.set("web", 3);
    indexes.set("db", 4);
    consul.last().answer(5, [row("web", 1), row("db", 1)]);
    await clock.advance(0);
    assert.deepEqual(requests.sort(), ["fetch db", "fetch web"]);
    assert.deepEqual(published.sort(), ["db", "web"], "neither taken for unchanged nor dropped as older because 3 and 4 are below 20");
    await p.close();
  });
});
