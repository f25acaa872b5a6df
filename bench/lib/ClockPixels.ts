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
