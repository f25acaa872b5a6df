/**
 * The command panels: one collapsible panel per command with its description, one control per parameter chosen by
 * Reactor's rules, its key bindings, and room for the runtime's errors beside the control that caused them.
 *
 * - number/integer with both bounds: a slider that sends on every change (at most once per animation frame);
 * - number/integer otherwise: a number input, sent on Enter or when it loses focus;
 * - string with `enum`: a select; string: a text field with a Send button (Enter sends too);
 * - boolean: a checkbox; a command without parameters: a button;
 * - a file (`format: "reactor-upload-reference"`): a file picker; the chosen file is uploaded, then the command sent.
 * Values are sent as entered: the runtime validates, and its error shows beside the control.
 */
import { bounds, el, formatNumber, keyLabel, niceStep, summarize } from "./dom.js"

/**
 * Creates the panels in `root`. `values` keeps what the controls hold (`get(command, param)`,
 * `set(command, param, value)`); `send(command, payload, param)` sends a command, `param` naming the control that
 * caused it. `upload(file)` uploads a file for the current session and resolves to its reference (`{upload_id, name,
 * mime_type, size}`), or rejects with the runtime's error.
 */
export function createControls(root, { values, send, upload }) {
  /** command -> {el, fields: Map(param -> {wrap, input, error, set, read}), error, badge} */
  const panels = new Map()
  let signature = ""

  /** The command's payload, read from its controls; a parameter whose control is empty is left out. */
  function payloadOf(command) {
    const out = {}
    for (const [param, field] of panels.get(command)?.fields ?? []) {
      const value = field.read()
      if (value !== undefined) out[param] = value
    }
    return out
  }

  const sendFrom = (command, param) => send(command, payloadOf(command), param)

  /** Sliders send at most once per animation frame: the latest value wins. */
  const throttled = new Map()
  function sendThrottled(command, param) {
    const scheduled = throttled.has(command)
    throttled.set(command, param)
    if (scheduled) return
    requestAnimationFrame(() => {
      const last = throttled.get(command)
      throttled.delete(command)
      sendFrom(command, last)
    })
  }

  let shown = []

  /** Renders the commands; does nothing when they are the ones already shown. Panels keep their open state. */
  function render(commands) {
    const next = JSON.stringify(
      commands.map(({ name, description, schema, keys }) => [name, description, schema, keys])
    )
    if (next === signature) return false
    signature = next
    shown = commands
    const open = new Map([...panels].map(([name, panel]) => [name, panel.el.open]))
    panels.clear()
    root.replaceChildren()
    if (commands.length === 0) root.append(el("p", { class: "muted" }, "This model takes no commands."))
    for (const command of commands) {
      const panel = renderCommand(command)
      panel.el.open = open.get(command.name) ?? true
      panels.set(command.name, panel)
      root.append(panel.el)
    }
    return true
  }

  function renderCommand(command) {
    const params = Object.entries(command.schema ?? {})
    const badge = el("span", { class: "badge" })
    const error = el("div", { class: "error", role: "alert" })
    const body = el("div", { class: "body" })
    const details = el(
      "details",
      { class: "command", "data-command": command.name },
      el("summary", {}, el("span", { class: "title" }, command.name), badge),
      body
    )
    const panel = { el: details, fields: new Map(), error, badge }
    if (command.description && command.description !== command.name) {
      body.append(el("p", { class: "description" }, command.description))
    }
    if (params.length === 0) {
      const button = el("button", { type: "button", class: "primary" }, `Send ${command.name}`)
      button.addEventListener("click", () => send(command.name, {}, null))
      body.append(button)
    }
    for (const [param, spec] of params) {
      const field = renderField(command.name, param, spec ?? {})
      panel.fields.set(param, field)
      body.append(field.wrap)
    }
    if (command.keys?.press && Object.keys(command.keys.press).length > 0) body.append(renderKeys(command))
    body.append(error)
    return panel
  }

  function renderField(command, param, spec) {
    const id = `c-${command}-${param}`.replace(/[^\w-]/g, "_")
    const saved = values.get(command, param)
    const error = el("div", { class: "error", role: "alert" })
    const label = el("label", { for: id }, el("span", { class: "param" }, param + (spec.required ? " *" : "")))
    const hint = spec.description ? el("div", { class: "hint" }, spec.description) : null
    const attrs = { id, "data-command": command, "data-param": param }
    const numeric = spec.type === "number" || spec.type === "integer"
    const field = (control, read, set, ...rows) => ({
      wrap: el("div", { class: "field" }, ...rows, hint, error),
      input: control,
      error,
      read,
      set
    })

    if (numeric && typeof spec.minimum === "number" && typeof spec.maximum === "number") {
      const step = spec.type === "integer" ? 1 : niceStep(spec.maximum - spec.minimum)
      const middle = (spec.minimum + spec.maximum) / 2
      const initial = saved ?? spec.default ?? (spec.type === "integer" ? Math.round(middle) : middle)
      const input = el("input", { ...attrs, type: "range", min: spec.minimum, max: spec.maximum, step, value: initial })
      const shown = el("span", { class: "value" }, formatNumber(initial, step))
      label.append(shown)
      input.addEventListener("input", () => {
        shown.textContent = formatNumber(Number(input.value), step)
        values.set(command, param, Number(input.value))
        sendThrottled(command, param)
      })
      const set = (value) => {
        input.value = value
        shown.textContent = formatNumber(Number(value), step)
      }
      return field(input, () => Number(input.value), set, label, input)
    }

    if (numeric) {
      const initial = saved ?? spec.default
      const input = el("input", {
        ...attrs,
        type: "number",
        step: spec.type === "integer" ? 1 : "any",
        min: spec.minimum,
        max: spec.maximum,
        value: initial,
        placeholder: bounds(spec)
      })
      let committed = input.value
      const commit = () => {
        if (input.value === committed) return
        committed = input.value
        values.set(command, param, input.value === "" ? undefined : Number(input.value))
        sendFrom(command, param)
      }
      input.addEventListener("change", commit)
      input.addEventListener("keydown", (event) => event.key === "Enter" && commit())
      const read = () => (input.value === "" ? undefined : Number(input.value))
      const set = (value) => (input.value = committed = value ?? "")
      return field(input, read, set, label, input)
    }

    if (spec.type === "string" && Array.isArray(spec.enum)) {
      const input = el("select", attrs, ...spec.enum.map((option) => el("option", { value: option }, String(option))))
      input.value = saved ?? spec.default ?? spec.enum[0]
      input.addEventListener("change", () => {
        values.set(command, param, input.value)
        sendFrom(command, param)
      })
      return field(input, () => input.value, (value) => (input.value = value), label, input)
    }

    if (spec.format === "reactor-upload-reference") {
      const input = el("input", { ...attrs, type: "file", ...(spec.accept ? { accept: spec.accept.join(",") } : {}) })
      let reference
      input.addEventListener("change", async () => {
        const file = input.files?.[0]
        if (!file) return
        error.textContent = ""
        try {
          reference = { $upload: await upload(file) }
          sendFrom(command, param)
        } catch (failure) {
          error.textContent = String(failure?.message ?? failure)
        }
      })
      return field(input, () => reference, (value) => (reference = value), label, input)
    }

    if (spec.type === "boolean") {
      const input = el("input", { ...attrs, type: "checkbox" })
      input.checked = Boolean(saved ?? spec.default ?? false)
      input.addEventListener("change", () => {
        values.set(command, param, input.checked)
        sendFrom(command, param)
      })
      const row = el("div", { class: "field check" }, input, label)
      return field(input, () => input.checked, (value) => (input.checked = Boolean(value)), row)
    }

    const input = el("input", {
      ...attrs,
      type: "text",
      value: saved ?? spec.default ?? "",
      placeholder: spec.description ?? param,
      autocomplete: "off"
    })
    const button = el("button", { type: "button", "data-send": param }, "Send")
    const commit = () => {
      values.set(command, param, input.value)
      sendFrom(command, param)
    }
    input.addEventListener("input", () => values.set(command, param, input.value))
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return
      event.preventDefault()
      commit()
    })
    button.addEventListener("click", commit)
    // An optional text left empty is not sent; a required one is (and the runtime says what it expects).
    const read = () => (input.value === "" && !spec.required ? undefined : input.value)
    return field(input, read, (value) => (input.value = value ?? ""), label, el("div", { class: "row" }, input, button))
  }

  function renderKeys(command) {
    const row = el("div", { class: "keys" }, "Keys:")
    // Keys that send the same payload share one entry: W ↑ direction=forward.
    const byPayload = new Map()
    for (const [key, payload] of Object.entries(command.keys.press)) {
      const text = JSON.stringify(payload)
      byPayload.set(text, [...(byPayload.get(text) ?? []), key])
    }
    for (const [text, keys] of byPayload) {
      row.append(
        el(
          "span",
          { class: "binding", title: text },
          ...keys.map((key) => el("kbd", { "data-key": key, "data-command": command.name }, keyLabel(key))),
          el("span", {}, summarize(JSON.parse(text)))
        )
      )
    }
    if (command.keys.release) {
      row.append(
        el(
          "span",
          { class: "binding", title: JSON.stringify(command.keys.release) },
          el("span", {}, "release →"),
          el("span", {}, summarize(command.keys.release))
        )
      )
    }
    return row
  }

  function setBadge(command, kind, text) {
    const panel = panels.get(command)
    if (!panel) return
    panel.badge.className = `badge ${kind}`
    panel.badge.textContent = text
  }

  return {
    render,

    /** Renders the current commands afresh: every control back to what `values` holds, or to its default. */
    reset() {
      signature = ""
      render(shown)
    },
    payloadOf,
    setBadge,
    has: (command, param) => panels.get(command)?.fields.has(param) ?? false,

    /** Shows values in the controls (a resumed session's, or a key binding's payload). */
    show(command, patch) {
      const panel = panels.get(command)
      for (const [param, value] of Object.entries(patch ?? {})) panel?.fields.get(param)?.set(value)
    },

    /** Shows every value `values` holds. */
    showAll() {
      for (const [command, panel] of panels) {
        for (const [param, field] of panel.fields) {
          const value = values.get(command, param)
          if (value !== undefined) field.set(value)
        }
      }
    },

    /** Shows an error beside the parameter's control, or at the command's panel; false if the command is unknown. */
    showError(command, param, message, code) {
      const panel = panels.get(command)
      if (!panel) return false
      const field = param ? panel.fields.get(param) : undefined
      if (field) {
        field.error.textContent = message
        field.wrap.classList.add("invalid")
      } else {
        panel.error.textContent = message
      }
      panel.el.classList.add("has-error")
      setBadge(command, "failed", code)
      return true
    },

    clearErrors(command) {
      const panel = panels.get(command)
      if (!panel) return
      panel.error.textContent = ""
      panel.el.classList.remove("has-error")
      for (const field of panel.fields.values()) {
        field.error.textContent = ""
        field.wrap.classList.remove("invalid")
      }
    }
  }
}
