/**
 * The wall clock written into a frame's pixels, so a viewer can tell how old a frame is when it reaches the screen,
 * after any codec: the low 24 bits of `Date.now()` as 24 black or white squares along the top of the frame (big
 * enough to survive VP8 and JPEG). The browser side decodes the same layout (`decodeSource`, injected into pages).
 */

/** Side of one bit's square, and its pitch along the row. */
export const square = 20
export const pitch = 26
export const bits = 24

/** A scrolling gradient background for frame `tick`. */
export const background = (width: number, height: number, tick: number): Uint8Array => {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      data[i] = (x + tick * 3) & 0xff
      data[i + 1] = (y * 2 + tick) & 0xff
      data[i + 2] = ((x ^ y) + tick * 5) & 0xff
    }
  }
  return data
}

/** Draws the clock row (needs a frame at least `bits * pitch` wide). */
export const draw = (data: Uint8Array, width: number, epochMs: number) => {
  const value = epochMs % (1 << bits)
  for (let bit = 0; bit < bits; bit++) {
    const on = (value >>> bit) & 1 ? 255 : 0
    const x0 = 4 + bit * pitch
    for (let y = 4; y < 4 + square; y++) data.fill(on, (y * width + x0) * 3, (y * width + x0 + square) * 3)
  }
}

/**
 * The browser's decoder, as source text: `clockAge(ctx)` reads the row off a canvas context holding the frame and
 * returns how many ms ago its clock was drawn (modulo 2^24 ms).
 */
export const decodeSource = `
function clockAge(ctx) {
  const row = ctx.getImageData(0, 4, ${4 + bits * pitch}, ${square}).data
  const width = ${4 + bits * pitch}
  let value = 0
  for (let bit = 0; bit < ${bits}; bit++) {
    const x = 4 + bit * ${pitch} + ${square >> 1}
    const i = (${square >> 1} * width + x) * 4
    const lum = (row[i] + row[i + 1] + row[i + 2]) / 3
    if (lum > 127) value |= 1 << bit
  }
  const modulo = ${1 << bits}
  return (((Date.now() % modulo) - value) % modulo + modulo) % modulo
}
`

/**
 * Reads the clock row off an RGB frame and returns how many ms ago it was drawn (modulo 2^24 ms); `drawnWidth` is
 * the width the row was drawn at, so a frame the sender's encoder scaled down still reads (the row scales with it).
 * `undefined` when the frame is too small to hold the row.
 */
export const age = (
  rgb: Uint8Array,
  width: number,
  height: number,
  drawnWidth: number,
  nowMs = Date.now()
): number | undefined => {
  const scale = width / drawnWidth
  const y = Math.round((4 + (square >> 1)) * scale)
  if (y >= height || Math.round((4 + (bits - 1) * pitch + (square >> 1)) * scale) >= width) return undefined
  let value = 0
  for (let bit = 0; bit < bits; bit++) {
    const x = Math.round((4 + bit * pitch + (square >> 1)) * scale)
    const i = (y * width + x) * 3
    if ((rgb[i]! + rgb[i + 1]! + rgb[i + 2]!) / 3 > 127) value |= 1 << bit
  }
  const modulo = 1 << bits
  return ((((nowMs % modulo) - value) % modulo) + modulo) % modulo
}

/**
 * The browser's painter, as source text: `drawClock(ctx, width, height, tick)` paints a moving gradient on a 2D
 * canvas context and the clock row of `Date.now()` over it (the layout `age` and `clockAge` read).
 */
export const drawSource = `
function drawClock(ctx, width, height, tick) {
  const gradient = ctx.createLinearGradient((tick * 7) % width, 0, width, height)
  gradient.addColorStop(0, "rgb(" + ((tick * 3) & 255) + ",60,120)")
  gradient.addColorStop(1, "rgb(40," + ((tick * 5) & 255) + ",200)")
  ctx.fillStyle = gradient
  ctx.fillRect(0, 0, width, height)
  const value = Date.now() % ${1 << bits}
  for (let bit = 0; bit < ${bits}; bit++) {
    ctx.fillStyle = (value >>> bit) & 1 ? "#fff" : "#000"
    ctx.fillRect(4 + bit * ${pitch}, 4, ${square}, ${square})
  }
}
`
