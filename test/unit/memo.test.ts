import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ServiceInstance } from "../../src/dependency/health-service.js";
import { RenderScope, type DataSource } from "../../src/runner/render-scope.js";
import { createDependency, DependencyCache } from "../../src/runner/dependency-factory.js";
import { compileTemplate } from "../../src/template/compile.js";
import { shareUnchanged } from "../../src/watch/share-unchanged.js";

/**
 * Incremental rendering keeps each `#each` item's output while what it was made from is unchanged.
 * The rule these tests hold it to: a template rendered again and again over changing data gives,
 * every time, exactly what a freshly compiled template gives over the same data (output, the
 * dependencies used and missing, the refusals).
 */

const defaults = { stale: false };
const serviceKey = (name: string) => createDependency("service", name, {}, defaults).key;
const servicesKey = createDependency("services", "", {}, defaults).key;
const kvKey = (key: string) => createDependency("key", key, {}, defaults).key;

type Instance = Pick<ServiceInstance, "ID" | "Name" | "Address" | "Port" | "Tags" | "Meta">;

/** Consul's view, held the way the watcher holds it: replaced, never mutated. */
class Catalog implements DataSource {
  readonly #data = new Map<string, unknown>();
  read(key: string): { hasData: boolean; data: unknown } {
    return { hasData: this.#data.has(key), data: this.#data.get(key) };
  }
  /** Unchanged list items keep their identity, as the watcher keeps them. */
  set(key: string, value: unknown): void {
    this.#data.set(key, shareUnchanged(this.#data.get(key), value));
  }
  delete(key: string): void {
    this.#data.delete(key);
  }
}

function render(template: ReturnType<typeof compileTemplate>, catalog: Catalog) {
  const scope = new RenderScope(catalog, new DependencyCache(defaults));
  const output = template.render(scope);
  return { output, used: [...scope.used.keys()].sort(), missing: [...scope.missing].sort(), refusals: scope.refusals.map((r) => r.message).sort() };
}

const templates = {
  nested: `{{#each (services)}}{{#if (hasPrefix Name "svc")}}backend {{identifier Name}} #{{@index}}{{#if @first}} first{{/if}}{{#if @last}} last{{/if}}
{{#each (service Name)}}  server {{ID}} {{address Address}}:{{port Port}} of {{../Name}} at {{@../index}}.{{@index}}{{#each Tags}} t{{@index}}={{this}}{{/each}}{{#each Meta}} {{@key}}={{this}}{{/each}}
{{else}}  # none
{{/each}}{{/if}}{{/each}}`,
  withAndKeys: `{{#each (services)}}{{#with (service Name)}}{{#each this}}{{ID}}@{{keyOrDefault (join (split ID "-") "/") "1"}} {{/each}}{{/with}};{{/each}}`,
  context: `{{#each (services)}}{{#with (service Name)}}{{#each this}}{{ID}} of {{../length}}{{#if @last}} (last){{/if}}, {{/each}}{{/with}}|{{/each}}`,
  // At the top the context never changes: only @key tells {x0: "v"} from {y0: "v"}.
  objectKeys: `{{#each (lookup (lookup (service "svc-a") 0) "Meta")}}{{@key}}={{this}};{{/each}}`,
  block: `{{#each (services) as |svc i|}}{{#service svc.Name}}{{i}}:{{ID}}={{hostname Address}} {{else}}{{i}}:empty {{/service}}{{/each}}`,
};

const names = ["svc-a", "svc-b", "svc-c", "other"];
const addresses = ["10.0.0.1", "10.0.0.2", "bad\naddress", "host.example", "bad;addr"];

const change = fc.oneof(
  fc.record({ op: fc.constant("instances" as const), service: fc.constantFrom(...names), count: fc.nat({ max: 3 }), address: fc.constantFrom(...addresses), port: fc.integer({ min: 1, max: 3 }), tags: fc.array(fc.constantFrom("x", "y"), { maxLength: 2 }) }),
  fc.record({ op: fc.constant("services" as const), present: fc.subarray(names) }),
  fc.record({ op: fc.constant("forget" as const), service: fc.constantFrom(...names) }),
  // One instance more or fewer, the others unchanged: positions, @first/@last and ../ move.
  fc.record({ op: fc.constantFrom("append" as const, "dropFirst" as const), service: fc.constantFrom(...names) }),
  fc.record({ op: fc.constant("key" as const), key: fc.constantFrom("svc/a/0", "svc/b/1"), value: fc.option(fc.constantFrom("5", "7"), { nil: undefined }) }),
);

type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

function apply(catalog: Catalog, c: Change): void {
  switch (c.op) {
    case "instances": {
      const list: Instance[] = Array.from({ length: c.count }, (_, i) => ({ ID: `${c.service}-${i}`, Name: c.service, Address: i === 0 ? c.address : "10.0.1.1", Port: 8000 + (i === 0 ? c.port : i), Tags: i === 0 ? c.tags : [], Meta: i === 0 ? Object.fromEntries(c.tags.map((t, j) => [`${t}${j}`, "v"])) : {} }));
      catalog.set(serviceKey(c.service), list);
      break;
    }
    case "services":
      catalog.set(servicesKey, c.present.map((Name) => ({ Name, Tags: [] })));
      break;
    case "append":
    case "dropFirst": {
      const { data } = catalog.read(serviceKey(c.service));
      const list = (data ?? []) as Instance[];
      const next = c.op === "append" ? [...list, { ID: `${c.service}-${list.length + 10}`, Name: c.service, Address: "10.0.2.1", Port: 9000 + list.length, Tags: [], Meta: {} }] : list.slice(1);
      catalog.set(serviceKey(c.service), next);
      break;
    }
    case "forget":
      catalog.delete(serviceKey(c.service));
      break;
    case "key":
      catalog.set(kvKey(c.key), c.value ?? null);
      break;
  }
}

describe("incremental rendering", () => {
  for (const [name, text] of Object.entries(templates)) {
    it(`${name}: every render equals a fresh render of the same data`, () => {
      fc.assert(
        fc.property(fc.array(change, { minLength: 1, maxLength: 25 }), (changes) => {
          const catalog = new Catalog();
          const kept = compileTemplate("t.hbs", text);
          for (const c of changes) {
            apply(catalog, c);
            assert.deepEqual(render(kept, catalog), render(compileTemplate("t.hbs", text), catalog));
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it("re-renders only the item whose data changed", () => {
    const catalog = new Catalog();
    catalog.set(servicesKey, names.map((Name) => ({ Name, Tags: [] })));
    for (const n of names) catalog.set(serviceKey(n), [{ ID: `${n}-0`, Name: n, Address: "10.0.0.1", Port: 80, Tags: [], Meta: {} }]);
    let calls = 0;
    const counting = compileTemplate("t.hbs", `{{#each (services)}}{{#each (service Name)}}{{ID}}={{port Port}} {{/each}}{{/each}}`);
    const countingScope = () => {
      const scope = new RenderScope(catalog, new DependencyCache(defaults));
      const lookup = scope.lookup.bind(scope);
      scope.lookup = (kind, arg, options) => {
        if (kind === "service") calls++;
        return lookup(kind, arg, options);
      };
      return scope;
    };
    counting.render(countingScope());
    calls = 0;
    catalog.set(serviceKey("svc-b"), [{ ID: "svc-b-9", Name: "svc-b", Address: "10.0.0.1", Port: 81, Tags: [], Meta: {} }]);
    const output = counting.render(countingScope());
    assert.equal(output, "svc-a-0=80 svc-b-9=81 svc-c-0=80 other-0=80 ");
    // Each kept service item checks its one lookup; only svc-b's item renders (and looks up) again.
    assert.equal(calls, names.length + 1);
  });

  it("keeps reporting a refused value while its item is kept", () => {
    const catalog = new Catalog();
    catalog.set(servicesKey, [{ Name: "web", Tags: [] }]);
    catalog.set(serviceKey("web"), [
      { ID: "ok", Name: "web", Address: "10.0.0.1", Port: 80, Tags: [] },
      { ID: "evil", Name: "web", Address: "1.2.3.4; rm -rf", Port: 80, Tags: [] },
    ]);
    const template = compileTemplate("t.hbs", `{{#each (services)}}{{#each (service Name)}}{{ID}} {{address Address}}\n{{/each}}{{/each}}`);
    for (let i = 0; i < 3; i++) {
      const result = render(template, catalog);
      assert.equal(result.output, "ok 10.0.0.1\n");
      assert.equal(result.refusals.length, 1, `render ${i + 1} reports the refused address`);
    }
  });
});
