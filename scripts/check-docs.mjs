// `npm run docs:check`: compiles every ```ts code block of README.md and docs/*.md with tsc, so the guides cannot
// drift from the API. Each block is a module of its own, named `<doc>/block-N.ts`, or `<doc>/<name>` when its fence
// says `ts file=<name>` (later blocks of the same document may import it as `./<name without .ts>.js`).
// A block may import the reader's own model as `./model.js`: unless the document defines `file=model.ts`, that is
// examples/01-prompt.ts (commands `set_prompt` and `set_speed`). Blocks resolve `effect-reactor` to src/ through
// tsconfig.json's paths, like the examples.
import { spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, ".docs-check")
rmSync(out, { recursive: true, force: true })

const documents = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)
]
const files = []
for (const document of documents) {
  const text = readFileSync(join(root, document), "utf8")
  const dir = join(out, basename(document, ".md"))
  let n = 0
  for (const match of text.matchAll(/^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    n++
    const name = /file=(\S+)/.exec(match[2])?.[1] ?? `block-${n}.ts`
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, name), match[3])
    files.push(join(dir, name))
  }
  if (n > 0 && !existsSync(join(dir, "model.ts"))) {
    copyFileSync(join(root, "examples/01-prompt.ts"), join(dir, "model.ts"))
  }
}
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../tsconfig.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false, baseUrl: ".." },
      include: ["**/*.ts", "../docs/types/*.d.ts"]
    },
    null,
    2
  )
)
console.log(`compiling ${files.length} code blocks from ${documents.length} documents`)
const tsc = spawnSync(process.execPath, [
  join(root, "node_modules/typescript/bin/tsc"),
  "-p",
  join(out, "tsconfig.json")
], {
  cwd: root,
  stdio: "inherit"
})
if (tsc.status !== 0) process.exit(tsc.status ?? 1)
console.log("every code block compiles")
