// Lint and format: dprint through ESLint, as Effect's own repositories do (@effect/eslint-plugin's dprint rule,
// with Effect's settings). `npm run lint` checks, `npm run lint:fix` rewrites.
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

// One direction through the house (STYLE.md): each folder of src/ imports only the folders below it in this list.
// An import of a folder further up is a lint error. `cli`, `client` and `testing` are entry points side by side.
const layers = ["model", "protocol", "config", "session", "host", "transport", "http", "server", "cluster"]
const entries = ["cli", "client", "testing"]
const above = (folder) => {
  const index = layers.indexOf(folder)
  return index >= 0 ? [...layers.slice(index + 1), ...entries] : entries.filter((entry) => entry !== folder)
}
const layering = [...layers, ...entries].map((folder) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    "no-restricted-imports": ["error", {
      patterns: [{
        // any depth: src/host/python/X.ts reaches a folder above through ../../
        regex: `^(\\.\\./)+(${above(folder).join("|")})(/|$)`,
        message: `src/${folder} may import only the layers below it (${
          layers.slice(0, Math.max(0, layers.indexOf(folder))).join(", ") || "none"
        }): see the layer order in eslint.config.mjs`
      }]
    }]
  }
}))

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "dist/**",
      "bench/results/**",
      "test-artifacts/**",
      "out/**",
      "scratch/**",
      ".docs-check/**"
    ]
  },
  {
    files: ["**/*.ts", "**/*.mjs", "src/web/**/*.js"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: "module" },
    plugins: { "@effect": effectEslint },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "no-debugger": "error"
    }
  },
  ...layering
)
