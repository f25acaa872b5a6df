/**
 * libwebrtc field trials for `@roamhq/wrtc`, which has no API for them. libwebrtc reads every trial through one
 * process-wide C string (`webrtc::field_trial::trials_init_string`, what `InitFieldTrialsFromString` sets), looked up
 * each time an object that reads trials is built (a peer connection's pacer, a video stream's sender). The prebuilt
 * module keeps its symbol table, so the string's address is found there: the trials are written into the module's own
 * memory past the end of its data (the spare bytes of its last page) and the pointer set to them, through
 * `/proc/self/mem`. Linux only; every check that fails leaves the process untouched and says why.
 *
 * Trials are process-wide, read as each peer connection and stream is built (so they hold for peers made after
 * `install`); `install` is idempotent for the same string and refuses a different one.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs"
import * as WebRtcConfig from "../config/WebRtcConfig.js"

/** The symbol of libwebrtc's field-trial string (a `const char*`). */
export const symbol = "_ZN6webrtc11field_trialL18trials_init_stringE"

/** What `install` did. */
export type Outcome =
  | { readonly _tag: "Installed"; readonly trials: string }
  | { readonly _tag: "Unchanged"; readonly trials: string }
  | { readonly _tag: "Failed"; readonly reason: string }

/**
 * The field trials a configuration asks for: its own `fieldTrials` first (libwebrtc reads the first occurrence of a
 * name, so they win), then the playout delay (`WebRTC-ForceSendPlayoutDelay`) and the pacer's burst
 * (`WebRTC-BurstyPacer`). Empty when none.
 */
export const of = (config: WebRtcConfig.WebRtcConfig): string =>
  config.fieldTrials +
  (config.playoutDelayMs === "off"
    ? ""
    : `WebRTC-ForceSendPlayoutDelay/min_ms:${config.playoutDelayMs.min},max_ms:${config.playoutDelayMs.max}/`) +
  (config.pacerBurstMs > 0 ? `WebRTC-BurstyPacer/burst:${config.pacerBurstMs}ms/` : "")

interface Elf {
  /** The symbol's value (its address relative to the module's load base). */
  readonly symbolAt: number
  readonly symbolSize: number
  /** The end (relative) of the writable segment's memory, and the end of its last page. */
  readonly dataEnd: number
  readonly pageEnd: number
}

/** Reads what is needed from the module's ELF file: the symbol and the writable segment's end. */
const readElf = (file: string, name: string): Elf | string => {
  const fd = openSync(file, "r")
  try {
    const read = (offset: number, length: number) => {
      const buffer = Buffer.alloc(length)
      readSync(fd, buffer, 0, length, offset)
      return buffer
    }
    const header = read(0, 64)
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) {
      return `${file} is not a 64-bit little-endian ELF file`
    }
    const phoff = Number(header.readBigUInt64LE(0x20))
    const shoff = Number(header.readBigUInt64LE(0x28))
    const phentsize = header.readUInt16LE(0x36)
    const phnum = header.readUInt16LE(0x38)
    const shentsize = header.readUInt16LE(0x3a)
    const shnum = header.readUInt16LE(0x3c)
    let dataEnd = -1
    const programs = read(phoff, phentsize * phnum)
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize
      const type = programs.readUInt32LE(at)
      const flags = programs.readUInt32LE(at + 4)
      const vaddr = Number(programs.readBigUInt64LE(at + 0x10))
      const memsz = Number(programs.readBigUInt64LE(at + 0x28))
      if (type === 1 && (flags & 2) !== 0) dataEnd = Math.max(dataEnd, vaddr + memsz)
    }
    if (dataEnd < 0) return `${file} has no writable segment`
    const sections = read(shoff, shentsize * shnum)
    const section = (i: number) => ({
      type: sections.readUInt32LE(i * shentsize + 4),
      offset: Number(sections.readBigUInt64LE(i * shentsize + 0x18)),
      size: Number(sections.readBigUInt64LE(i * shentsize + 0x20)),
      link: sections.readUInt32LE(i * shentsize + 0x28),
      entsize: Number(sections.readBigUInt64LE(i * shentsize + 0x38))
    })
    const wanted = Buffer.from(name + "\0", "latin1")
    for (let i = 0; i < shnum; i++) {
      const symtab = section(i)
      if (symtab.type !== 2) continue // SHT_SYMTAB
      const strtab = section(symtab.link)
      const strings = read(strtab.offset, strtab.size)
      const symbols = read(symtab.offset, symtab.size)
      for (let at = 0; at + 24 <= symbols.length; at += symtab.entsize || 24) {
        const nameAt = symbols.readUInt32LE(at)
        if (
          strings[nameAt] !== wanted[0] ||
          strings.compare(wanted, 0, wanted.length, nameAt, nameAt + wanted.length) !== 0
        ) {
          continue
        }
        return {
          symbolAt: Number(symbols.readBigUInt64LE(at + 8)),
          symbolSize: Number(symbols.readBigUInt64LE(at + 16)),
          dataEnd,
          pageEnd: Math.ceil(dataEnd / 4096) * 4096
        }
      }
    }
    return `${file} has no symbol ${name} (a stripped build?)`
  } finally {
    closeSync(fd)
  }
}

/** A mapping of /proc/self/maps. */
interface Mapping {
  readonly start: number
  readonly end: number
  readonly perms: string
  readonly offset: number
  readonly path: string
}

const mappings = (): ReadonlyArray<Mapping> =>
  readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line !== "").map((line) => {
    const [range, perms, offset, , , ...rest] = line.split(/\s+/)
    const [start, end] = range!.split("-")
    return {
      start: parseInt(start!, 16),
      end: parseInt(end!, 16),
      perms: perms!,
      offset: parseInt(offset!, 16),
      path: rest.join(" ")
    }
  })

let installed: string | undefined

/**
 * Installs `trials` into the loaded native module whose file name ends with `moduleName` (default `wrtc.node`), which
 * must already be loaded. Call before the first peer connection.
 */
export const install = (trials: string, moduleName = "/wrtc.node"): Outcome => {
  const invalid = WebRtcConfig.checkFieldTrials(trials)
  if (invalid !== undefined) return { _tag: "Failed", reason: invalid }
  if (installed === undefined && trials === "") return { _tag: "Unchanged", trials }
  if (installed !== undefined) {
    return installed === trials
      ? { _tag: "Unchanged", trials }
      : { _tag: "Failed", reason: `field trials are process-wide and already set to ${JSON.stringify(installed)}` }
  }
  if (process.platform !== "linux") {
    return { _tag: "Failed", reason: `field trials need Linux, not ${process.platform}` }
  }
  try {
    const maps = mappings()
    const file = maps.find((m) => m.path.endsWith(moduleName) && m.offset === 0)
    if (file === undefined) return { _tag: "Failed", reason: `the native module ${moduleName} is not loaded` }
    const elf = readElf(file.path, symbol)
    if (typeof elf === "string") return { _tag: "Failed", reason: elf }
    if (elf.symbolSize !== 8) return { _tag: "Failed", reason: `${symbol} is ${elf.symbolSize} bytes, not a pointer` }
    const base = file.start
    const text = Buffer.from(trials + "\0", "latin1")
    const at = Math.ceil((base + elf.dataEnd) / 16) * 16
    if (at + text.length > base + elf.pageEnd) {
      return {
        _tag: "Failed",
        reason: `field trials of ${text.length} bytes do not fit the module's ${base + elf.pageEnd - at} spare bytes`
      }
    }
    const writable = (from: number, to: number) =>
      maps.some((m) => m.start <= from && to <= m.end && m.perms.startsWith("rw"))
    if (!writable(at, at + text.length) || !writable(base + elf.symbolAt, base + elf.symbolAt + 8)) {
      return { _tag: "Failed", reason: "the module's data is not mapped where its ELF file says" }
    }
    const mem = openSync("/proc/self/mem", "r+")
    try {
      const current = Buffer.alloc(8)
      readSync(mem, current, 0, 8, base + elf.symbolAt)
      const spare = Buffer.alloc(text.length)
      readSync(mem, spare, 0, text.length, at)
      if (current.readBigUInt64LE(0) !== 0n) {
        return { _tag: "Failed", reason: "libwebrtc's field trials were already set by someone else" }
      }
      if (spare.some((byte) => byte !== 0)) return { _tag: "Failed", reason: "the module's spare bytes are in use" }
      // positions as numbers: Node's writeSync fails on /proc/self/mem with a bigint position
      writeSync(mem, text, 0, text.length, at)
      const pointer = Buffer.alloc(8)
      pointer.writeBigUInt64LE(BigInt(at))
      writeSync(mem, pointer, 0, 8, base + elf.symbolAt)
    } finally {
      closeSync(mem)
    }
    installed = trials
    return { _tag: "Installed", trials }
  } catch (error) {
    return {
      _tag: "Failed",
      reason: `field trials could not be set: ${error instanceof Error ? error.message : String(error)}`
    }
  }
}

/** The trials installed in this process, if any. */
export const current = (): string | undefined => installed

/**
 * The trials libwebrtc reads now, read back from the loaded module's memory (`undefined` when none are set; a string
 * saying why when they cannot be read). A diagnostic: what `install` wrote is what libwebrtc sees.
 */
export const read = (moduleName = "/wrtc.node"): string | undefined | { readonly error: string } => {
  try {
    const file = mappings().find((m) => m.path.endsWith(moduleName) && m.offset === 0)
    if (file === undefined) return { error: `the native module ${moduleName} is not loaded` }
    const elf = readElf(file.path, symbol)
    if (typeof elf === "string") return { error: elf }
    const mem = openSync("/proc/self/mem", "r")
    try {
      const pointer = Buffer.alloc(8)
      readSync(mem, pointer, 0, 8, file.start + elf.symbolAt)
      const at = Number(pointer.readBigUInt64LE(0))
      if (at === 0) return undefined
      const text = Buffer.alloc(4096)
      readSync(mem, text, 0, text.length, at)
      const end = text.indexOf(0)
      return text.subarray(0, end < 0 ? text.length : end).toString("latin1")
    } finally {
      closeSync(mem)
    }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  }
}
