import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TemplateError } from "../../src/errors.js";
import { compileTemplate } from "../../src/template/compile.js";
import { identifier, uniqueId } from "../../src/template/helpers-text.js";
import type { DataKind, DataScope } from "../../src/template/scope.js";

/** A scope over fixed data that records what the template asked for. */
function scope(data: Partial<Record<DataKind, unknown>>): DataScope & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    lookup(kind, arg, options) {
      asked.push(`${kind}:${arg}${Object.keys(options).length ? JSON.stringify(options) : ""}`);
      return kind in data ? { ready: true, data: data[kind] } : { ready: false, data: undefined };
    },
  };
}

describe("templates", () => {
  it("does not HTML-escape: output is configuration", () => {
    const out = compileTemplate("t.hbs", '{{key "x"}}').render(scope({ key: `a<b>&"c"` }));
    assert.equal(out, `a<b>&"c"`);
  });

  it("records each lookup with its options", () => {
    const s = scope({});
    compileTemplate("t.hbs", '{{#each (service "web" status="any")}}{{/each}}{{keyOrDefault "k" "d"}}').render(s);
    assert.deepEqual(s.asked, ['service:web{"status":"any"}', "keyValue:k"]);
  });

  it("missing data renders empty values, not errors", () => {
    assert.equal(compileTemplate("t.hbs", '[{{#each (service "web")}}x{{/each}}][{{key "k"}}][{{keyOrDefault "k" "d"}}]').render(scope({})), "[][][d]");
  });

  it("@key still works inside #each although a helper is named key", () => {
    assert.equal(compileTemplate("t.hbs", "{{#each (byTag (service \"w\"))}}{{@key}}={{this.length}};{{/each}}").render(scope({ service: [{ Tags: ["b", "a"] }, { Tags: ["a"] }] })), "a=2;b=1;");
  });

  it("reports unknown helpers at compile time with line and column", () => {
    assert.throws(() => compileTemplate("t.hbs", "ok\n  {{nope 1}}"), (e: unknown) => e instanceof TemplateError && e.message === "t.hbs:2:3: unknown helper nope");
  });

  it("identifier turns any string into a safe name", () => {
    assert.equal(identifier("web.api-v2"), "web_api_v2");
    assert.equal(identifier("9lives"), "_9lives");
    assert.equal(identifier(""), "_");
    assert.equal(identifier("a\nb c"), "a_b_c");
  });

  it("uniqueId keeps names that are identifiers, and gives names that sanitise alike different, stable suffixes", () => {
    assert.equal(uniqueId("web_1"), "web_1");
    const alike = ["web-1", "web.1", "web 1", "web:1"].map(uniqueId);
    assert.equal(new Set([...alike, "web_1"]).size, 5, alike.join(" "));
    for (const name of alike) assert.match(name, /^web_1-[0-9a-f]{8}$/);
    assert.equal(uniqueId("web-1"), alike[0], "the same value, the same name, every time");
    assert.equal(compileTemplate("t.hbs", "{{#each (service \"w\")}}{{uniqueId ID}}{{/each}}").render(scope({ service: [{ ID: "a.b" }] })), uniqueId("a.b"));
  });
});
