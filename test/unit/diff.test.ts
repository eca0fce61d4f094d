import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { unifiedDiff } from "../../src/render/diff.js";

describe("unifiedDiff", () => {
  it("is empty when nothing changes", () => assert.equal(unifiedDiff("/etc/x", "a\n", "a\n"), ""));
  it("shows a new file against /dev/null", () => {
    const diff = unifiedDiff("/etc/x", undefined, "a\n");
    assert.match(diff, /^--- \/dev\/null/m);
    assert.match(diff, /^\+\+\+ \/etc\/x/m);
    assert.match(diff, /^\+a$/m);
  });
  it("shows removed and added lines with context", () => {
    const diff = unifiedDiff("/etc/x", "keep\nold\nkeep2\n", "keep\nnew\nkeep2\n");
    assert.match(diff, /^@@ -1,3 \+1,3 @@$/m);
    assert.match(diff, /^-old$/m);
    assert.match(diff, /^\+new$/m);
    assert.match(diff, /^ keep$/m);
  });
});
