import { Schema, JSONSchema, SchemaAST as AST } from "effect"
import { Rpc } from "@effect/rpc"
const speed = Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)).annotations({ description: "speed", default: 0.5 }), { default: () => 0.5, exact: true })
const r = Rpc.make("set_camera", { payload: { direction: Schema.Literal("left", "right").annotations({description:"dir"}), speed, n: Schema.Int.pipe(Schema.between(1, 5)), m: Schema.Number.pipe(Schema.int(), Schema.between(1,5)) } })
console.log(JSON.stringify(JSONSchema.make(r.payloadSchema), null, 1))
const ast = r.payloadSchema.ast
console.log(ast._tag, AST.isTransformation(ast) ? ast.from._tag : "")
if (AST.isTransformation(ast)) console.log((ast.from as AST.TypeLiteral).propertySignatures.map(p => [p.name, p.isOptional, p.type._tag]))
console.log(Object.keys((r.payloadSchema as any).fields))
