import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineSplitter } from "../../src/docker/line-splitter.js";

describe("LineSplitter", () => {
  it("joins objects split across chunks and splits chunks holding several", () => {
    const s = new LineSplitter();
    const a = '{"Action":"start","id":"1"}';
    const b = '{"Action":"die","id":"2"}';
    const all = `${a}\n${b}\n`;
    assert.deepEqual(s.push(all.slice(0, 10)), []);
    assert.deepEqual(s.push(all.slice(10, 40)), [a]);
    assert.deepEqual(s.push(all.slice(40)), [b]);
  });
  it("keeps multi-byte characters whole across chunks", () => {
    const s = new LineSplitter();
    const bytes = new TextEncoder().encode('{"n":"é"}\n');
    const cut = bytes.indexOf(0xc3) + 1;
    assert.deepEqual([...s.push(bytes.slice(0, cut)), ...s.push(bytes.slice(cut))], ['{"n":"é"}']);
  });
  it("flushes a last line without newline", () => {
    const s = new LineSplitter();
    s.push('{"a":1}');
    assert.deepEqual(s.flush(), ['{"a":1}']);
  });
});
