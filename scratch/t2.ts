import { Schema, JSONSchema } from "effect"
import * as Param from "../src/model/Param.js"
const S = Schema.Struct({ a: Param.int({ min: 1, max: 5, default: 3, description: "aa" }), b: Param.literal(["x", "y"]), c: Param.number({min: 0}), d: Param.string({maxLength: 4}) })
type T = typeof S.Type
const t: T = { a: 1, b: "x", c: 2, d: "s" }
console.log(t, JSON.stringify(JSONSchema.make(S)))
console.log(Schema.decodeUnknownSync(S)({ b: "y", c: 1, d: "abc" }))
