/**
 * Result tables: each row is one figure measured on the runtime beside the same figure measured on the bare `ws`
 * baseline in the same run, their ratio, and the target it is held to.
 */

/** Whether a larger figure is better (throughput) or a smaller one (latency, memory). */
export type Better = "higher" | "lower" | "neither"

/** One figure of a benchmark. */
export interface Row {
  readonly metric: string
  readonly unit: string
  readonly runtime: number | undefined
  /** The same figure on the bare `ws` server (or the bare library call); undefined when there is no counterpart. */
  readonly baseline: number | undefined
  readonly better: Better
  /** The target, said in words, and whether this run met it. */
  readonly target?: { readonly text: string; readonly met: boolean } | undefined
}

/** One benchmark's table, plus notes on what was measured and how. */
export interface Table {
  readonly name: string
  readonly title: string
  /** What the runtime and the baseline columns measured, in one line each. */
  readonly columns: { readonly runtime: string; readonly baseline: string }
  /** The two columns' headings, when the baseline is not the bare `ws` server. Default `runtime` / `bare ws`. */
  readonly labels?: { readonly runtime: string; readonly baseline: string }
  readonly rows: ReadonlyArray<Row>
  readonly notes: ReadonlyArray<string>
}

/** runtime / baseline, or undefined when either is missing or the baseline is 0. */
export const ratio = (row: Pick<Row, "runtime" | "baseline">): number | undefined =>
  row.runtime === undefined || row.baseline === undefined || row.baseline === 0 || !Number.isFinite(row.baseline)
    ? undefined
    : row.runtime / row.baseline

/** Formats a number with a precision that suits its magnitude. */
export const formatNumber = (value: number | undefined): string => {
  if (value === undefined || Number.isNaN(value)) return "-"
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
  const abs = Math.abs(value)
  if (abs >= 10_000) return Math.round(value).toLocaleString("en-US")
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  if (abs === 0) return "0"
  return value.toFixed(3)
}

const pad = (text: string, width: number, right: boolean) => right ? text.padStart(width, " ") : text.padEnd(width, " ")

/** Renders a table as aligned text (also valid Markdown). */
export const render = (table: Table): string => {
  const labels = table.labels ?? { runtime: "runtime", baseline: "bare ws" }
  const header = ["metric", "unit", labels.runtime, labels.baseline, "ratio", "target", "met"]
  const body = table.rows.map((row) => {
    const r = ratio(row)
    return [
      row.metric,
      row.unit,
      formatNumber(row.runtime),
      formatNumber(row.baseline),
      r === undefined ? "-" : `${r.toFixed(2)}x`,
      row.target?.text ?? "",
      row.target === undefined ? "" : row.target.met ? "yes" : "NO"
    ]
  })
  const numeric = [false, false, true, true, true, false, false]
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    "| " + cells.map((cell, i) => pad(cell, widths[i]!, numeric[i]!)).join(" | ") + " |"
  const rule = "|" + widths.map((w, i) => (numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|"
  return [
    `### ${table.title}`,
    "",
    `${labels.runtime}: ${table.columns.runtime}`,
    `${labels.baseline}: ${table.columns.baseline}`,
    "",
    line(header),
    rule,
    ...body.map(line),
    ...(table.notes.length > 0 ? ["", ...table.notes.map((note) => `- ${note}`)] : [])
  ].join("\n")
}

/** A row whose target is a bound on the runtime/baseline ratio. */
export const ratioTarget = (
  row: Omit<Row, "target">,
  bound: { readonly atLeast?: number; readonly atMost?: number }
): Row => {
  const r = ratio(row)
  const text = bound.atLeast !== undefined ? `ratio >= ${bound.atLeast}` : `ratio <= ${bound.atMost}`
  const met = r !== undefined &&
    (bound.atLeast === undefined || r >= bound.atLeast) && (bound.atMost === undefined || r <= bound.atMost)
  return { ...row, target: { text, met } }
}

/** A row whose target is a bound on the runtime figure itself. */
export const valueTarget = (
  row: Omit<Row, "target">,
  bound: { readonly atLeast?: number; readonly atMost?: number; readonly text?: string }
): Row => {
  const v = row.runtime
  const text = bound.text ??
    (bound.atMost !== undefined ? `<= ${formatNumber(bound.atMost)}` : `>= ${formatNumber(bound.atLeast)}`)
  const met = v !== undefined && !Number.isNaN(v) &&
    (bound.atLeast === undefined || v >= bound.atLeast) && (bound.atMost === undefined || v <= bound.atMost)
  return { ...row, target: { text, met } }
}
