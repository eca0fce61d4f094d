import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RefusedValueError, TemplateError } from "../../src/errors.js";
import { compileTemplate } from "../../src/template/compile.js";
import { checkAddress, checkHostname, checkIdentifier, checkPath, checkPort, quoteString } from "../../src/template/contexts.js";
import { httpRoutes } from "../../src/template/helpers-context.js";
import type { DataKind, DataScope } from "../../src/template/scope.js";
import { markUnsafe } from "../../src/untrusted.js";

const refused = (fn: () => unknown, reason?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof RefusedValueError && (!reason || reason.test(e.reason)));

// Characters that change HAProxy or nginx structure, and look-alikes that pass a glance.
const hostile = ["}", "{", ";", " ", "#", "\n", "\r", "\t", "\"", "'", "\\", "$", "`", "\u0000", "\u2028", "\uff1b", "\u037e", "\uff5b"];

describe("context checks (pure)", () => {
  it("hostname: RFC 1123 labels (and _), 253 characters at most", () => {
    for (const ok of ["web", "web.example.com", "a-b.c", "x1", "my_service.localhost", "A.B"]) assert.equal(checkHostname(ok), ok);
    for (const bad of ["", "-web", "web-", "a..b", "web.", "x } or { always_true", "web;evil", "wеb" /* Cyrillic е */, `${"a".repeat(64)}.com`]) refused(() => checkHostname(bad));
    refused(() => checkHostname(`${"a.".repeat(127)}ab`), /more than 253/);
  });

  it("address: IPv4, IPv6 (bracketed for host:port), or a host name; nothing else", () => {
    assert.equal(checkAddress("10.1.2.3"), "10.1.2.3");
    assert.equal(checkAddress("::1"), "[::1]");
    assert.equal(checkAddress("[fe80::1]"), "[fe80::1]");
    assert.equal(checkAddress("db.internal"), "db.internal");
    for (const bad of ["1.2.3.4 weight 0 # ", "1.2.3.4:80", "1.2.3.4\nserver evil 6.6.6.6:80", "", "fe80::1%eth0", "a b"]) refused(() => checkAddress(bad), /not an IP address or host name/);
  });

  it("port: a whole number from 1 to 65535", () => {
    assert.equal(checkPort(8080), "8080");
    assert.equal(checkPort("443"), "443");
    for (const bad of [0, 65536, -1, 1.5, "80 check", "080x", "", Number.NaN, undefined, "99999"]) refused(() => checkPort(bad));
  });

  it("path: a URL path prefix from a safe set, bounded", () => {
    for (const ok of ["/", "/api", "/v2/api-x_y.z~", "/a%20b", "/a=b:c@d,e+f"]) assert.equal(checkPath(ok), ok);
    for (const bad of ["api", "/a b", "/a;b", "/a}", "/a{", "/a#", "/$host", "/a'", '/a"', "/a\\b", "/a%zz", "/a?b", "/a*"]) refused(() => checkPath(bad));
    refused(() => checkPath(`/${"a".repeat(2000)}`), /more than 1024/);
    refused(() => checkPath(`/${"a".repeat(40)}`, 32), /more than 32/);
  });

  it("identifier (strict): refuses instead of rewriting", () => {
    assert.equal(checkIdentifier("web_1.a-b"), "web_1.a-b");
    for (const bad of ["1web", "a b", "a;b", "", "a}"]) refused(() => checkIdentifier(bad));
  });

  it("quote: escapes quotes and backslashes, refuses control characters and $", () => {
    assert.equal(quoteString('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
    refused(() => quoteString("a\nb"), /control character \(U\+000A\)/);
    refused(() => quoteString("${HOME}"), /'\$'/);
  });

  it("property: whatever the input, an accepted value holds no character that changes structure", () => {
    const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), fc.constantFrom(...hostile).chain((h) => fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}${h}${b}`)));
    fc.assert(
      fc.property(anyText, (value) => {
        for (const check of [checkHostname, checkAddress, checkPath, checkIdentifier]) {
          let out: string;
          try {
            out = check(value);
          } catch (error) {
            if (error instanceof RefusedValueError) continue;
            throw error;
          }
          assert.ok(/^[\x21-\x7e]+$/.test(out), `${check.name} let through ${JSON.stringify(out)}`);
          assert.ok(!/[{};#"'\\$`\s]/.test(out), `${check.name} let through ${JSON.stringify(out)}`);
        }
        try {
          const quoted = quoteString(value);
          // Inside the quotes, every " and \ is escaped, and nothing else can end the string.
          assert.ok(/^"(?:[^"\\\u0000-\u001f$]|\\["\\])*"$/.test(quoted), `quote let through ${JSON.stringify(quoted)}`);
        } catch (error) {
          if (!(error instanceof RefusedValueError)) throw error;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("property: ports are exactly the integers 1 to 65535", () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -100_000, max: 200_000 }), fc.string({ maxLength: 8 })), (value) => {
        let out: string | undefined;
        try {
          out = checkPort(value);
        } catch (error) {
          if (!(error instanceof RefusedValueError)) throw error;
        }
        const n = Number(value);
        const valid = (typeof value === "number" || /^\d+$/.test(value)) && Number.isInteger(n) && n >= 1 && n <= 65535;
        assert.equal(out, valid ? String(n) : undefined);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("httpRoutes", () => {
  it("reads host= and path= tags, or <name>.<domain> with neither", () => {
    assert.deepEqual(httpRoutes({ Name: "web", Tags: ["http"] }, "example.com"), { hosts: ["web.example.com"], paths: [] });
    assert.deepEqual(httpRoutes({ Name: "shop", Tags: ["http", "host=shop.example.com", "path=/shop"] }, "x"), { hosts: ["shop.example.com"], paths: ["/shop"] });
  });
  it("refuses the whole service for one bad routing value, naming the tag", () => {
    assert.throws(() => httpRoutes({ Name: "evil", Tags: ["http", "host=ok.com", "host=x } or { always_true"] }, "x"), (e: unknown) => e instanceof RefusedValueError && e.field === 'tag "host=x } or { always_true"');
    assert.throws(() => httpRoutes({ Name: "a;b", Tags: ["http"] }, "localhost"), (e: unknown) => e instanceof RefusedValueError && e.field === "Name (with the domain)");
    assert.throws(() => httpRoutes({ Name: "web", Tags: [] }, "bad domain"), RefusedValueError);
  });
});

/** A scope over fixed data; `onUnsafe` decides whether refused items are left out. */
function scope(data: Partial<Record<DataKind, unknown>>, onUnsafe: "skip" | "fail" = "skip"): DataScope & { refusals: RefusedValueError[] } {
  const refusals: RefusedValueError[] = [];
  return {
    refusals,
    lookup: (kind) => (kind in data ? { ready: true, data: data[kind] } : { ready: false, data: undefined }),
    refused(r) {
      refusals.push(r);
      return onUnsafe === "skip";
    },
  };
}

describe("a refused value leaves out only its item", () => {
  const instances = [
    { ID: "web-1", Name: "web", Address: "10.0.0.1", Port: 80 },
    { ID: "web-2", Name: "web", Address: "10.0.0.2 weight 0 # ", Port: 80 },
    { ID: "web-3", Name: "web", Address: "10.0.0.3", Port: 99999 },
    { ID: "web-4", Name: "web", Address: "::1", Port: 8080 },
  ];
  const template = compileTemplate("t.hbs", 'backend web\n{{#each (service "web")}}  server {{identifier ID}} {{address Address}}:{{port Port}}\n{{/each}}end\n');

  it("skips the instances whose address or port is refused and reports service, instance and field", () => {
    const s = scope({ service: instances });
    assert.equal(template.render(s), "backend web\n  server web_1 10.0.0.1:80\n  server web_4 [::1]:8080\nend\n");
    assert.deepEqual(
      s.refusals.map((r) => [r.where, r.field]),
      [['service "web" instance "web-2"', "Address"], ['service "web" instance "web-3"', "Port"]],
    );
    assert.match(s.refusals[0]!.reason, /not an IP address or host name/);
  });

  it("with --on-unsafe fail the whole render fails, naming the value", () => {
    assert.throws(() => template.render(scope({ service: instances }, "fail")), (e: unknown) => e instanceof TemplateError && /service "web" instance "web-2": Address: .* is not an IP address/.test(e.message));
  });

  it("{{else}} renders when every item was left out", () => {
    const t = compileTemplate("t.hbs", '{{#each (service "web")}}server {{address Address}}{{else}}server 127.0.0.1:1 down{{/each}}');
    assert.equal(t.render(scope({ service: [instances[1]] })), "server 127.0.0.1:1 down");
  });

  it("#each keeps Handlebars' @index, @key, @first, @last and block parameters", () => {
    const t = compileTemplate("t.hbs", "{{#each list as |item i|}}{{i}}:{{item}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}},{{/each}}{{#each obj}}{{@key}}={{this}};{{/each}}");
    assert.equal(t.render({ lookup: () => ({ ready: false, data: undefined }) }), "");
    const tt = compileTemplate("t.hbs", '{{#each (split "a,b,c" ",") as |item i|}}{{i}}:{{item}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}},{{/each}}');
    assert.equal(tt.render(scope({})), "0:aF,1:b,2:cL,");
  });

  it("a control character in a bare {{value}} is refused the same way", () => {
    // The watcher marks every answer this way before templates see it.
    const s = scope({ service: markUnsafe([{ ID: "ok", Name: "web", Tags: ["fine"] }, { ID: "bad", Name: "web", Tags: ["x\nbackend evil"] }], 'service "web"') });
    const t = compileTemplate("t.hbs", '{{#each (service "web")}}{{ID}} {{join Tags ","}}\n{{/each}}');
    assert.equal(t.render(s), "ok fine\n");
    assert.equal(s.refusals.length, 1);
  });
});

describe("helper calls are checked at load time", () => {
  const cases: [string, RegExp][] = [
    ['{{service "a" "b"}}', /^t\.hbs:1:1: service: expected 1 argument, got 2$/],
    ["{{key}}", /^t\.hbs:1:1: key: expected 1 argument, got 0$/],
    ['x\n  {{key ""}}', /^t\.hbs:2:3: key: the name must not be empty$/],
    ['{{#each (service)}}{{/each}}', /service: expected 1 argument, got 0/],
    ['{{join}}', /join: expected 1 to 2 arguments, got 0/],
    ['{{port 1 2}}', /port: expected 1 argument, got 2/],
  ];
  for (const [text, message] of cases) {
    it(text.replaceAll("\n", "⏎"), () => assert.throws(() => compileTemplate("t.hbs", text), (e: unknown) => e instanceof TemplateError && message.test(e.message)));
  }
  it("literal data arguments go through the lookup check with their location", () => {
    assert.throws(
      () => compileTemplate("t.hbs", '\n{{#each (service "web" status="bogus")}}{{/each}}', (kind, _arg, options) => {
        if (kind === "service" && options.status === "bogus") throw new Error('service: status="bogus": expected "any" or a list');
      }),
      (e: unknown) => e instanceof TemplateError && /^t\.hbs:2:9: service: status="bogus"/.test(e.message),
    );
  });
  it("@key and field names are not mistaken for helper calls", () => {
    assert.doesNotThrow(() => compileTemplate("t.hbs", "{{#each x as |item|}}{{@key}}{{item}}{{Port}}{{Address}}{{/each}}"));
  });
});
