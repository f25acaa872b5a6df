/**
 * One schema, two ways of writing it: for randomly drawn parameter declarations, the command declared from a Python
 * signature (type hints, `Literal`, pydantic `Field`) and the same command declared in TypeScript with `Param` give
 * the same capabilities (Reactor's shape and the JSON Schema) and the same validation of probe payloads.
 */
import { Either, FastCheck as fc } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Commands from "../../src/host/python/Commands.js"
import { packageRoot } from "../../src/host/python/Process.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as Mailbox from "../../src/session/Mailbox.js"

interface Spec {
  readonly kind: "str" | "int" | "float" | "bool" | "literal"
  readonly description: string | undefined
  readonly required: boolean
  readonly ge: number | undefined
  readonly le: number | undefined
  readonly gt: number | undefined
  readonly lt: number | undefined
  readonly maxLength: number | undefined
  readonly choices: ReadonlyArray<string>
  readonly default: unknown
}

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/)
const text = fc.option(fc.stringMatching(/^[A-Za-z0-9 ,.()-]{1,30}$/), { nil: undefined })
const bound = (kind: string) =>
  fc.option(kind === "int" ? fc.integer({ min: -1000, max: 1000 }) : fc.double({ min: -1e6, max: 1e6, noNaN: true }), {
    nil: undefined
  })

const spec: fc.Arbitrary<Spec> = fc.constantFrom("str", "int", "float", "bool", "literal").chain((kind) =>
  fc.record({
    kind: fc.constant(kind as Spec["kind"]),
    description: text,
    required: fc.boolean(),
    ge: kind === "int" || kind === "float" ? bound(kind) : fc.constant(undefined),
    le: kind === "int" || kind === "float" ? bound(kind) : fc.constant(undefined),
    gt: kind === "int" || kind === "float" ? bound(kind) : fc.constant(undefined),
    lt: kind === "int" || kind === "float" ? bound(kind) : fc.constant(undefined),
    maxLength: kind === "str" ? fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }) : fc.constant(undefined),
    choices: fc.uniqueArray(word, { minLength: 1, maxLength: 4 }),
    default: kind === "str"
      ? fc.stringMatching(/^[a-z ]{0,10}$/)
      : kind === "int"
      ? fc.integer({ min: -100, max: 100 })
      : kind === "float"
      ? fc.double({ min: -100, max: 100, noNaN: true })
      : kind === "bool"
      ? fc.boolean()
      : fc.constant(undefined)
  })
).map((s) => (s.kind === "literal" ? { ...s, default: s.choices[0] } : s))

const py = (value: unknown): string =>
  typeof value === "boolean"
    ? (value ? "True" : "False")
    : typeof value === "number"
    ? (Object.is(value, -0) ? "-0.0" : JSON.stringify(value))
    : JSON.stringify(value)

/** The parameter as a Python model author writes it. */
const pythonParam = (name: string, s: Spec): string => {
  const annotation = s.kind === "literal"
    ? `Literal[${s.choices.map(py).join(", ")}]`
    : { str: "str", int: "int", float: "float", bool: "bool" }[s.kind]
  const extras = [
    ...(s.ge !== undefined ? [`ge=${py(s.ge)}`] : []),
    ...(s.le !== undefined ? [`le=${py(s.le)}`] : []),
    ...(s.gt !== undefined ? [`gt=${py(s.gt)}`] : []),
    ...(s.lt !== undefined ? [`lt=${py(s.lt)}`] : []),
    ...(s.maxLength !== undefined ? [`max_length=${s.maxLength}`] : []),
    ...(s.description !== undefined ? [`description=${py(s.description)}`] : [])
  ]
  const value = s.required ? "..." : py(s.default)
  if (extras.length === 0) return s.required ? `${name}: ${annotation}` : `${name}: ${annotation} = ${value}`
  return `${name}: ${annotation} = Field(${[value, ...extras].join(", ")})`
}

/** The parameter as a TypeScript model author writes it. */
const typescriptParam = (s: Spec): any => {
  const common = {
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(!s.required ? { default: s.default } : {})
  }
  const bounds = {
    ...(s.ge !== undefined ? { min: s.ge } : {}),
    ...(s.le !== undefined ? { max: s.le } : {}),
    ...(s.gt !== undefined ? { exclusiveMin: s.gt } : {}),
    ...(s.lt !== undefined ? { exclusiveMax: s.lt } : {})
  }
  switch (s.kind) {
    case "str":
      return Param.string({ ...common, ...(s.maxLength !== undefined ? { maxLength: s.maxLength } : {}) } as any)
    case "int":
      return Param.int({ ...common, ...bounds } as any)
    case "float":
      return Param.number({ ...common, ...bounds } as any)
    case "bool":
      return Param.boolean(common as any)
    case "literal":
      return Param.literal(s.choices as [string, ...Array<string>], common as any)
  }
}

const probes: ReadonlyArray<unknown> = [
  0,
  -1,
  1.5,
  1e9,
  "",
  "left",
  "a longer piece of text than fifty characters....",
  true
]

describe("the schema of a Python signature", () => {
  it("equals the equivalent TypeScript declaration's, capabilities and validation alike", () => {
    // Parameters without a default first (Python's signature rule; a `Field(...)` is a default to Python).
    const bare = (s: Spec) => Number(!pythonParam("p", s).includes(" = "))
    const commands = fc.sample(fc.array(spec, { minLength: 1, maxLength: 4 }), { numRuns: 60, seed: 16 }).map((
      specs
    ) => [...specs].sort((a, b) => bare(b) - bare(a)))
    const source = [
      "from typing import Literal",
      "from pydantic import Field",
      "from reactor_runtime import VideoModel, command",
      "class Drawn(VideoModel):",
      ...commands.flatMap((specs, i) => [
        `    @command("c${i}", description="command ${i}")`,
        `    def c${i}(self, ${specs.map((s, j) => pythonParam(`p${j}`, s)).join(", ")}):`,
        "        pass"
      ])
    ].join("\n")
    const dir = mkdtempSync(join(tmpdir(), "reactor-schema-"))
    const file = join(dir, "drawn.py")
    writeFileSync(file, source + "\n")
    const script = [
      "import json, sys",
      "from reactor_runtime._host import load_module, find_model",
      "from reactor_runtime.schema import commands_of",
      "print(json.dumps(commands_of(find_model(load_module(sys.argv[1]), sys.argv[1]))))"
    ].join("\n")
    const declared = JSON.parse(execFileSync("python3", ["-c", script, file], {
      env: { ...process.env, PYTHONPATH: packageRoot() },
      encoding: "utf8"
    }))
    expect(declared).toHaveLength(commands.length)
    for (const [i, specs] of commands.entries()) {
      const fromPython = Commands.toCommand(declared[i])
      const fromTypeScript = Command.make(`c${i}`, {
        description: `command ${i}`,
        payload: Object.fromEntries(specs.map((s, j) => [`p${j}`, typescriptParam(s)]))
      })
      expect(Capabilities.ofCommand(fromPython as any)).toEqual(Capabilities.ofCommand(fromTypeScript as any))
      const groupPy = Command.group(fromPython)
      const groupTs = Command.group(fromTypeScript)
      for (const probe of probes) {
        for (const data of [{}, Object.fromEntries(specs.map((_, j) => [`p${j}`, probe]))]) {
          const a = Mailbox.decode(groupPy, { type: `c${i}`, data })
          const b = Mailbox.decode(groupTs, { type: `c${i}`, data })
          expect(Either.isLeft(a) ? a.left.message : a.right.payload).toEqual(
            Either.isLeft(b) ? b.left.message : b.right.payload
          )
        }
      }
    }
  })
})
