import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, words } from "../../src/haproxy/config.js";
import { keepMatchingState, planRuntimeUpdate, serverStateFile } from "../../src/haproxy/runtime-plan.js";

const config = (servers: string, extra = "") => `global
    stats socket /run/haproxy.sock level admin expose-fd listeners
    server-state-file /var/lib/haproxy/state

defaults
    mode http
    load-server-state-from-file global

frontend http-in
    bind *:80
    use_backend web if { hdr(host) -i web.localhost }
    default_backend no_service
${extra}
backend no_service
    http-request deny deny_status 503

backend web
    balance roundrobin
${servers}`;

const web1 = "    server web-1 10.0.0.1:8001 check inter 2s\n";
const web2 = "    server web-2 10.0.0.2:8002 check inter 2s\n";

describe("HAProxy configuration parsing", () => {
  it("splits words as HAProxy does: quotes, escapes, comments", () => {
    assert.deepEqual(words(`  http-request set-header X "a b # c" # comment`), ["http-request", "set-header", "X", "a b # c"]);
    assert.deepEqual(words(String.raw`bind a\ b`), ["bind", "a b"]);
    assert.equal(words(`acl x "open`), undefined);
  });

  it("finds sections and their server lines, with addresses and ports", () => {
    const parsed = parseConfig(config(web1 + "    server v6 [::1]:9000 weight 3\n"));
    assert.equal(parsed.unsupported, undefined);
    assert.deepEqual(parsed.sections.map((s) => `${s.kind} ${s.name}`.trim()), ["global", "defaults", "frontend http-in", "backend no_service", "backend web"]);
    const web = parsed.sections.at(-1)!;
    assert.deepEqual([...web.servers.values()], [
      { name: "web-1", address: "10.0.0.1", port: 8001, settings: ["check", "inter", "2s"] },
      { name: "v6", address: "::1", port: 9000, settings: ["weight", "3"] },
    ]);
    assert.deepEqual(web.lines, ["balance roundrobin"]);
  });

  it("says what it cannot reason about: continued lines, open quotes, a server named twice", () => {
    assert.match(parseConfig("global\n    maxconn 10 \\\n").unsupported ?? "", /line 2 ends with a backslash/);
    assert.match(parseConfig(config(web1 + web1)).unsupported ?? "", /server web-1 appears twice in backend web/);
  });

  it("finds the server-state file, with server-state-base", () => {
    assert.equal(serverStateFile(config(web1)), "/var/lib/haproxy/state");
    assert.equal(serverStateFile("global\n    server-state-base /var/state/\n    server-state-file web\n"), "/var/state/web");
    assert.equal(serverStateFile("global\n    maxconn 10\n"), undefined);
  });
});

describe("planRuntimeUpdate (file → Runtime API)", () => {
  it("an instance added, one removed, one moved to another port: three runtime operations", () => {
    const plan = planRuntimeUpdate(config(web1 + web2), config(web1.replace("8001", "8011") + "    server web-3 10.0.0.3:8003 check inter 2s weight 2\n"));
    assert.deepEqual(plan, {
      kind: "runtime",
      ops: [
        { op: "remove", backend: "web", name: "web-2" },
        { op: "update", backend: "web", name: "web-1", address: "10.0.0.1", port: 8011, weight: undefined },
        { op: "add", backend: "web", server: { name: "web-3", address: "10.0.0.3", port: 8003, settings: ["check", "inter", "2s", "weight", "2"] } },
      ],
    });
  });

  it("the same text, or one that differs in comments and blank lines only, needs nothing", () => {
    assert.deepEqual(planRuntimeUpdate(config(web1), config(web1)), { kind: "runtime", ops: [] });
    assert.deepEqual(planRuntimeUpdate(config(web1), `# rendered again\n\n${config(web1)}`), { kind: "runtime", ops: [] });
  });

  it("a weight change is an update; any other change of a server's settings is a reload", () => {
    assert.deepEqual(planRuntimeUpdate(config(web1), config(web1.replace("inter 2s", "inter 2s weight 5"))), { kind: "runtime", ops: [{ op: "update", backend: "web", name: "web-1", address: "10.0.0.1", port: 8001, weight: 5 }] });
    assert.deepEqual(planRuntimeUpdate(config(web1), config(web1.replace("inter 2s", "inter 5s"))), { kind: "reload", reason: "backend web: the settings of server web-1 changed" });
  });

  it("anything outside server lines is a reload, with the reason: a new backend, a frontend rule, a global setting", () => {
    assert.deepEqual(planRuntimeUpdate(config(web1), `${config(web1)}\nbackend api\n    server api-1 10.0.0.9:9000\n`), { kind: "reload", reason: "backend api is new" });
    assert.deepEqual(planRuntimeUpdate(config(web1), config(web1, "    use_backend api if { path_beg /api }\n")), { kind: "reload", reason: 'frontend http-in: "use_backend api if { path_beg /api }" is new' });
    assert.match((planRuntimeUpdate(config(web1), config(web1).replace("mode http", "mode tcp")) as { reason: string }).reason, /^defaults: "mode http" became "mode tcp"/);
  });

  it("a new server with a setting add server does not take, or without a port, is a reload", () => {
    assert.deepEqual(planRuntimeUpdate(config(web1), config(`${web1}    server web-2 10.0.0.2:8002 ssl verify none\n`)), { kind: "reload", reason: 'backend web: server web-2 has "ssl", which add server does not take' });
    assert.deepEqual(planRuntimeUpdate(config(web1), config(`${web1}    server web-2 10.0.0.2\n`)), { kind: "reload", reason: "backend web: server web-2 has no port" });
  });
});

describe("keepMatchingState (before a reload)", () => {
  it("keeps the state of servers the next file keeps at the same address and port, and drops the rest", () => {
    const dump = [
      "1",
      "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord",
      "3 web 1 web-1 10.0.0.1 2 0 7 1 5 6 3 4 6 0 0 0 - 8001 -",
      "3 web 2 web-2 10.0.0.2 2 1 1 1 5 6 3 4 6 0 0 0 - 8002 -",
      "3 web 3 gone 10.0.0.9 2 0 1 1 5 6 3 4 6 0 0 0 - 8009 -",
    ].join("\n");
    const next = config(web1 + web2.replace("8002", "8012"));
    assert.deepEqual(keepMatchingState(dump, next).split("\n").slice(2).map((r) => r.split(" ")[3]), ["web-1"]);
  });
});

describe("planRuntimeUpdate: what a command could be made of", () => {
  it("a server line with a word the Runtime API would split (;, a backslash) goes by reload, never into a command", () => {
    // `add server web/x;set weight web/web-1 0 …` would run a second command on the socket.
    const injected = `${web1}    server x;set\\ weight\\ web/web-1\\ 0 10.0.0.9:80\n`;
    const plan = planRuntimeUpdate(config(web1), config(injected));
    assert.equal(plan.kind, "reload");
    assert.match((plan as { reason: string }).reason, /cannot be passed to the Runtime API as one word/);
    assert.equal(planRuntimeUpdate(config(web1), config(`${web1}    server web-2 10.0.0.2:8002 check\n`)).kind, "runtime", "ordinary names and addresses still go through");
  });
});
