import tseslint from "typescript-eslint";

/**
 * The source folders from the bottom up: a folder imports only from folders in layers below its
 * own (and from src/*.ts, the bottom layer), so the import graph has no cycle and no upward edge.
 * Folders of one layer know nothing of each other.
 */
const layers = [
  ["observe"],
  ["child", "consul", "docker", "haproxy", "render", "template"],
  ["dependency"],
  ["watch"],
  ["config"],
  ["registrator"],
  ["runner"],
  ["cli"],
];

const layering = layers.flatMap((layer, i) =>
  layer.flatMap((folder) => {
    const forbidden = layers.slice(i).flat().filter((other) => other !== folder);
    if (forbidden.length === 0) return [];
    return {
      files: [`src/${folder}/**/*.ts`],
      rules: {
        "no-restricted-imports": ["error", { patterns: [{ group: forbidden.map((other) => `../${other}/*`), message: `src/${folder}/ is in layer ${i + 1} of eslint.config.js: it may import only from lower layers (${layers.slice(0, i).flat().join(", ") || "src/*.ts"}).` }] }],
      },
    };
  }),
);

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cache/", "bench/out/", "eslint.config.js"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A daemon must never drop a rejected promise on the floor.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...layering,
  {
    files: ["src/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["./*/*"], message: "src/*.ts is the bottom layer: it imports no folder of src/." }] }] },
  },
  {
    files: ["test/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      // node:test's describe/it return promises the runner itself tracks.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach"] }] }],
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
    },
  },
);
