import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileTemplate } from "../../src/template/compile.js";
import { TemplateError } from "../../src/errors.js";
import { markUnsafe, UnsafeValue } from "../../src/untrusted.js";

describe("untrusted catalog values", () => {
  const instances = markUnsafe([{ ID: "web-1", Tags: ["ok", "evil\nbackend x"], Meta: { note: "fine" } }], 'service "web"');
  it("wraps only strings with control characters, naming service, instance and field", () => {
    const tag = instances[0]!.Tags[1] as unknown as UnsafeValue;
    assert.ok(tag instanceof UnsafeValue);
    assert.equal(instances[0]!.Tags[0], "ok");
    assert.match(tag.describe(), /^service "web": ID "web-1", field Tags \[1\] contains a control character \(U\+000A\)/);
  });
  it("leaves clean data as the same objects", () => {
    const clean = [{ ID: "a", Tags: ["x"] }];
    assert.equal(markUnsafe(clean, "s"), clean);
  });
  it("refuses to render an unsafe value, but raw, toJSON and identifier accept it", () => {
    const scope = { lookup: () => ({ ready: true, data: instances }) };
    assert.throws(
      () => compileTemplate("t.hbs", '{{#each (service "web")}}{{#each Tags}}tag {{this}}\n{{/each}}{{/each}}').render(scope),
      (e: unknown) => e instanceof TemplateError && /ID "web-1", field Tags \[1\]: contains a control character/.test(e.message),
    );
    assert.equal(compileTemplate("t.hbs", '{{#each (service "web")}}{{raw (lookup Tags 1)}}|{{toJSON Tags}}|{{identifier (lookup Tags 1)}}{{/each}}').render(scope), 'evil\nbackend x|["ok","evil\\nbackend x"]|evil_backend_x');
    assert.throws(() => compileTemplate("t.hbs", '{{#each (service "web")}}{{join Tags ","}}{{/each}}').render(scope), /control character/);
  });
});
