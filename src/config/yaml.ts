/**
 * The YAML parser, in a module of its own so that `load-file` can load it only when there is a
 * config file to read. A static re-export, not `import("yaml")` there: the bundled build
 * (scripts/build.mjs) keeps a static import's named exports of a CommonJS package, and hands a
 * dynamic import of one over as its default export only.
 */
export { LineCounter, parseDocument } from "yaml";
