// Lint and format: dprint through ESLint, as Effect's own repositories do (@effect/eslint-plugin's dprint rule,
// with Effect's settings). `npm run lint` checks, `npm run lint:fix` rewrites.
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

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
  }
)
