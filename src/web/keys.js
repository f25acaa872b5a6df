/**
 * Key bindings from the commands' `keys` annotation (`{press: {key: payload}, release?: payload}`): a key pressed sends
 * its payload; releasing it sends the payload of a key of the same command still held, or the release payload once
 * none is. Keys belonging to the focused control (typing in a field, arrows on a slider) are left alone.
 */

const normalize = (key) => (key.length === 1 ? key.toLowerCase() : key)

const controlKeys = new Set([
  "ArrowUp",
  "ArrowDown",
  "ArrowLeft",
  "ArrowRight",
  "Home",
  "End",
  "PageUp",
  "PageDown",
  " ",
  "Enter"
])

/** True when the key belongs to the focused element: any key while typing, arrows on a slider, space on a box. */
function belongsToFocus(event) {
  const target = event.target
  if (!(target instanceof Element)) return false
  if (target.isContentEditable || target.closest("textarea, select")) return true
  if (target instanceof HTMLInputElement) {
    const typing = !["range", "checkbox", "radio", "button", "submit", "color"].includes(target.type)
    return typing || controlKeys.has(event.key)
  }
  if (target.closest("button, summary")) return event.key === " " || event.key === "Enter"
  return false
}

/** Listens on `window`; `send(command, payload)` sends a binding's payload. Call `bind(commands)` on new commands. */
export function createKeys({ send }) {
  /** key -> [{command, payload}] */
  const bindings = new Map()
  /** command -> its release payload */
  const releases = new Map()
  /** command -> keys held, oldest first */
  const held = new Map()

  function highlight(command, key, down) {
    const selector = `kbd[data-command="${CSS.escape(command)}"][data-key="${CSS.escape(key)}"]`
    for (const kbd of document.querySelectorAll(selector)) kbd.classList.toggle("down", down)
  }

  const payloadOf = (command, key) => bindings.get(key)?.find((binding) => binding.command === command)?.payload

  /** After a release: another held key's payload applies again, or the release payload when none is held. */
  function fallBack(command, keys) {
    if (keys.length > 0) return send(command, payloadOf(command, keys[keys.length - 1]))
    held.delete(command)
    const release = releases.get(command)
    if (release) send(command, release)
  }

  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || belongsToFocus(event)) return
    const key = normalize(event.key)
    const bound = bindings.get(key)
    if (!bound) return
    event.preventDefault()
    if (event.repeat) return
    for (const { command, payload } of bound) {
      const keys = held.get(command) ?? []
      if (keys.includes(key)) continue
      keys.push(key)
      held.set(command, keys)
      highlight(command, key, true)
      send(command, payload)
    }
  })

  window.addEventListener("keyup", (event) => {
    const key = normalize(event.key)
    if (!bindings.has(key)) return
    for (const [command, keys] of [...held]) {
      const at = keys.indexOf(key)
      if (at < 0) continue
      keys.splice(at, 1)
      highlight(command, key, false)
      fallBack(command, keys)
    }
  })

  // Keys released while the window is not focused never say so: release everything held.
  window.addEventListener("blur", () => {
    for (const [command, keys] of [...held]) {
      for (const key of keys) highlight(command, key, false)
      keys.length = 0
      fallBack(command, keys)
    }
  })

  return {
    /** Indexes the bindings of a command list (replacing the previous ones). */
    bind(commands) {
      bindings.clear()
      releases.clear()
      for (const command of commands) {
        for (const [key, payload] of Object.entries(command.keys?.press ?? {})) {
          const list = bindings.get(normalize(key)) ?? []
          list.push({ command: command.name, payload })
          bindings.set(normalize(key), list)
        }
        if (command.keys?.release) releases.set(command.name, command.keys.release)
      }
    }
  }
}
