/**
 * Parameter schemas for command payloads and model configs. Each helper is a plain `effect/Schema`, annotated so
 * that bounds, enumerations, descriptions and defaults reach the UI schema and the JSON Schema intact.
 * Using Schema directly works too; these helpers only avoid the pitfalls (flat integer bounds, explicit defaults).
 */
import { Option, Schema, SchemaAST } from "effect"
import * as Upload from "./Upload.js"

interface Common<A> {
  readonly description?: string
  readonly default?: A
}

interface Bounds {
  readonly min?: number
  readonly max?: number
  /** An exclusive lower bound (`> exclusiveMin`). */
  readonly exclusiveMin?: number
  /** An exclusive upper bound (`< exclusiveMax`). */
  readonly exclusiveMax?: number
}

type Field<S extends Schema.Schema.Any, O> = O extends { readonly default: any } ?
  Schema.optionalWith<S, { default: () => Schema.Schema.Type<S>; exact: true }>
  : S

const show = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value))

const finish = <S extends Schema.Schema.Any>(schema: S, options: Common<any> | undefined): any => {
  // Schema prints a description as the "expected" part of parse errors; keep errors saying what was expected.
  const expected = Option.getOrElse(SchemaAST.getDescriptionAnnotation(schema.ast), () => String(schema.ast))
  const annotated = schema.annotations({
    // `override` for a choice (a union of literals): one "Expected" for the set, not one per allowed value.
    message: (issue) => ({
      message: `Expected ${expected}, actual ${show(issue.actual)}`,
      override: SchemaAST.isUnion(schema.ast)
    }),
    ...(options?.description !== undefined ? { description: options.description } : {}),
    ...(options?.default !== undefined ? { default: options.default } : {})
  })
  if (options?.default === undefined) return annotated
  const value = options.default
  return Schema.optionalWith(annotated, { default: () => value, exact: true })
}

const bounded = (base: Schema.Schema<number>, options: Bounds | undefined): Schema.Schema<number> => {
  const { exclusiveMax, exclusiveMin, max, min } = options ?? {}
  let out = base
  if (min !== undefined && max !== undefined) out = out.pipe(Schema.between(min, max))
  else if (min !== undefined) out = out.pipe(Schema.greaterThanOrEqualTo(min))
  else if (max !== undefined) out = out.pipe(Schema.lessThanOrEqualTo(max))
  if (exclusiveMin !== undefined) out = out.pipe(Schema.greaterThan(exclusiveMin))
  if (exclusiveMax !== undefined) out = out.pipe(Schema.lessThan(exclusiveMax))
  return out
}

/** A free text parameter (a text field in the UI). */
export const string = <
  const O extends Common<string> & { readonly maxLength?: number; readonly minLength?: number }
>(
  options?: O
): Field<typeof Schema.String, O> => {
  let schema: Schema.Schema<string> = Schema.String
  if (options?.minLength !== undefined) schema = schema.pipe(Schema.minLength(options.minLength))
  if (options?.maxLength !== undefined) schema = schema.pipe(Schema.maxLength(options.maxLength))
  return finish(schema, options)
}

/** A real number, optionally bounded (a slider when both bounds are given, a number input otherwise). */
export const number = <const O extends Common<number> & Bounds>(options?: O): Field<typeof Schema.Number, O> =>
  finish(bounded(Schema.Number.pipe(Schema.finite()), options), options)

/** An integer, optionally bounded. */
export const int = <const O extends Common<number> & Bounds>(options?: O): Field<typeof Schema.Number, O> =>
  finish(bounded(Schema.Number.pipe(Schema.int()), options), options)

/** A true/false switch (a checkbox). */
export const boolean = <const O extends Common<boolean>>(options?: O): Field<typeof Schema.Boolean, O> =>
  finish(Schema.Boolean, options)

/** One of a fixed set of strings (a select in the UI). */
export const literal = <const L extends readonly [string, ...Array<string>], const O extends Common<L[number]>>(
  values: L,
  options?: O
): Field<Schema.Literal<L>, O> => finish(Schema.Literal(...values), options)

/**
 * An uploaded file (Reactor's `UploadedFile`): the handler receives `{name, mimeType, bytes}`. A client uploads the
 * bytes first and names the upload in the command's `uploads` section (the official SDK's `uploadFile` + `FileRef`
 * do both); `accept` limits the media types (`["image/png", "image/jpeg"]`, `["image/*"]`), `maxBytes` the size.
 */
export const file = (options?: Upload.FileOptions): Schema.Schema<Upload.UploadedFile> => Upload.schema(options)
