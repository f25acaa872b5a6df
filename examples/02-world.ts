/**
 * 02: an interactive world. A procedural raycast maze (Wolfenstein-style) you walk through with W A S D or the arrow
 * keys and look around in with the camera. Like an autoregressive world model, every step generates a block of
 * frames (4 by default) from the current state and the controls. `npx tsx examples/02-world.ts`; `npm start` serves it.
 */
import { Effect, Ref, Schema } from "effect"
import { Command, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

const walk = (direction: string) => ({ direction })

export const Commands = Command.group(
  Command.make("move", {
    description: "Walk through the maze; hold W A S D or the arrow keys",
    payload: {
      direction: Param.literal(["forward", "back", "left", "right", "none"], {
        description: "Which way to walk (left and right step sideways); none stands still"
      })
    },
    keys: {
      press: {
        w: walk("forward"),
        ArrowUp: walk("forward"),
        s: walk("back"),
        ArrowDown: walk("back"),
        a: walk("left"),
        ArrowLeft: walk("left"),
        d: walk("right"),
        ArrowRight: walk("right")
      },
      release: walk("none")
    }
  }),
  Command.make("set_camera", {
    description: "Turn the camera; hold Q E to turn, R F to look up and down",
    payload: {
      direction: Param.literal(["left", "right", "up", "down", "none"], {
        description: "Which way the camera turns; none holds it still"
      }),
      speed: Param.number({ min: 0, max: 1, default: 0.5, description: "How fast it turns" })
    },
    keys: { press: { q: walk("left"), e: walk("right"), r: walk("up"), f: walk("down") }, release: walk("none") }
  }),
  Command.make("reset", { description: "Back to the start of the maze, standing still" })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 32, max: 1920, default: 320, description: "Frame width" }),
  height: Param.int({ min: 32, max: 1080, default: 180, description: "Frame height" }),
  fps: Param.int({ min: 1, max: 120, default: 30, description: "Frames per second" }),
  blockSize: Param.int({ min: 1, max: 12, default: 4, description: "Frames generated per step" }),
  mazeSize: Param.int({ min: 3, max: 32, default: 8, description: "Maze size in rooms per side" }),
  seed: Param.int({ min: 0, max: 1_000_000, default: 7, description: "Which maze" })
})

type Walk = "forward" | "back" | "left" | "right" | "none"
type Turn = "left" | "right" | "up" | "down" | "none"

/** Everything a session's world is: where the viewer stands and looks, and what the controls hold. */
interface World {
  readonly x: number
  readonly y: number
  readonly angle: number
  readonly pitch: number
  readonly walk: Walk
  readonly turn: Turn
  readonly turnSpeed: number
}

/** A maze of `size`² rooms on a (2 size + 1)² grid, carved by a seeded depth-first search, with a few loops. */
const makeMaze = (size: number, seed: number) => {
  let s = seed >>> 0
  const random = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296)
  const n = 2 * size + 1
  const walls = new Uint8Array(n * n).map(() => 1 + Math.floor(random() * 4))
  const stack: Array<readonly [number, number]> = [[0, 0]]
  walls[n + 1] = 0
  while (stack.length > 0) {
    const [cx, cy] = stack[stack.length - 1]!
    const next = [[1, 0], [-1, 0], [0, 1], [0, -1]].map(([dx, dy]) => [cx + dx!, cy + dy!] as const)
      .filter(([x, y]) => x >= 0 && y >= 0 && x < size && y < size && walls[(2 * y + 1) * n + 2 * x + 1] !== 0)
    if (next.length === 0) {
      stack.pop()
      continue
    }
    const [x, y] = next[Math.floor(random() * next.length)]!
    walls[(2 * y + 1) * n + 2 * x + 1] = 0
    walls[(cy + y + 1) * n + cx + x + 1] = 0
    stack.push([x, y])
  }
  for (let i = 0; i < size * size / 4; i++) {
    const x = 1 + Math.floor(random() * (n - 2))
    const y = 1 + Math.floor(random() * (n - 2))
    if ((x + y) % 2 === 1) walls[y * n + x] = 0
  }
  return { n, walls }
}

type Maze = ReturnType<typeof makeMaze>

const isWall = (maze: Maze, x: number, y: number) => maze.walls[Math.floor(y) * maze.n + Math.floor(x)] !== 0

/** The first room, looking down its open corridor, with the controls released. */
const startOf = (maze: Maze): World => ({
  x: 1.5,
  y: 1.5,
  angle: isWall(maze, 2.5, 1.5) ? Math.PI / 2 : 0,
  pitch: 0,
  walk: "none",
  turn: "none",
  turnSpeed: 0.5
})

/** Advances the world by `dt` seconds of the held controls, sliding along walls. */
const advance = (maze: Maze, w: World, dt: number): World => {
  const turn = w.turnSpeed * dt
  const angle = w.angle + (w.turn === "left" ? -2.5 : w.turn === "right" ? 2.5 : 0) * turn
  const pitch = Math.max(-0.3, Math.min(0.3, w.pitch + (w.turn === "up" ? 1 : w.turn === "down" ? -1 : 0) * turn))
  const [ahead, aside] = { forward: [1, 0], back: [-1, 0], left: [0, -1], right: [0, 1], none: [0, 0] }[w.walk]
  const step = 2.5 * dt
  const dx = (Math.cos(angle) * ahead! - Math.sin(angle) * aside!) * step
  const dy = (Math.sin(angle) * ahead! + Math.cos(angle) * aside!) * step
  const r = 0.2 * Math.sign(dx)
  const x = isWall(maze, w.x + dx + r, w.y) ? w.x : w.x + dx
  const y = isWall(maze, x, w.y + dy + 0.2 * Math.sign(dy)) ? w.y : w.y + dy
  return { ...w, x, y, angle, pitch }
}

const palette = [[0, 0, 0], [170, 74, 58], [92, 120, 160], [120, 150, 86], [186, 160, 110]] as const

/** Casts one ray per column (DDA): walls shaded by distance and side, with bricks; a sky and floor gradient. */
const render = (maze: Maze, w: World, width: number, height: number): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const horizon = Math.round(height / 2 + w.pitch * height)
  const dirX = Math.cos(w.angle), dirY = Math.sin(w.angle)
  const fov = 0.5 * width / height // square pixels: a wall one cell wide looks one cell high
  const planeX = -dirY * fov, planeY = dirX * fov
  for (let col = 0; col < width; col++) {
    const camera = 2 * col / width - 1
    const rayX = dirX + planeX * camera, rayY = dirY + planeY * camera
    let mapX = Math.floor(w.x), mapY = Math.floor(w.y)
    const deltaX = Math.abs(1 / rayX), deltaY = Math.abs(1 / rayY)
    const stepX = rayX < 0 ? -1 : 1, stepY = rayY < 0 ? -1 : 1
    let sideX = (rayX < 0 ? w.x - mapX : mapX + 1 - w.x) * deltaX
    let sideY = (rayY < 0 ? w.y - mapY : mapY + 1 - w.y) * deltaY
    let side = 0
    for (let guard = 0; guard < 256 && !isWall(maze, mapX, mapY); guard++) {
      if (sideX < sideY) (sideX += deltaX, mapX += stepX, side = 0)
      else (sideY += deltaY, mapY += stepY, side = 1)
    }
    const distance = Math.max(0.05, side === 0 ? sideX - deltaX : sideY - deltaY)
    const wallX = (side === 0 ? w.y + distance * rayY : w.x + distance * rayX) % 1
    const base = palette[maze.walls[mapY * maze.n + mapX]!] ?? palette[1]
    const light = (side === 1 ? 0.75 : 1) / (1 + distance * distance * 0.04)
    const lineHeight = height / distance
    const top = horizon - lineHeight / 2
    for (let row = 0; row < height; row++) {
      const i = (row * width + col) * 3
      if (row < top) {
        const t = Math.min(1, Math.max(0, (horizon - row) / height))
        data[i] = 30 + 60 * t, data[i + 1] = 40 + 90 * t, data[i + 2] = 70 + 150 * t
      } else if (row >= top + lineHeight) {
        const t = Math.min(1, (row - horizon) / height * 2)
        data[i] = 40 + 70 * t, data[i + 1] = 34 + 50 * t, data[i + 2] = 30 + 30 * t
      } else {
        const v = (row - top) / lineHeight * 4
        const u = wallX * 2 + (Math.floor(v) % 2) * 0.5
        const mortar = v % 1 < 0.08 || u % 1 < 0.05 ? 0.55 : 1
        const shade = light * mortar
        data[i] = base[0] * shade, data[i + 1] = base[1] * shade, data[i + 2] = base[2] * shade
      }
    }
  }
  drawMinimap(data, width, maze, w)
  return Frame.make(width, height, data)
}

/** The maze from above in the top-left corner, the viewer as a red dot. */
const drawMinimap = (data: Uint8Array, width: number, maze: Maze, w: World) => {
  const cell = Math.max(1, Math.floor(width / 6 / maze.n))
  const dot = (x: number, y: number, r: number, g: number, b: number) => {
    const i = (Math.floor(y) * width + Math.floor(x)) * 3
    data[i] = r, data[i + 1] = g, data[i + 2] = b
  }
  for (let y = 0; y < maze.n * cell; y++) {
    for (let x = 0; x < maze.n * cell; x++) {
      const wall = isWall(maze, x / cell, y / cell)
      dot(x + 4, y + 4, wall ? 200 : 20, wall ? 200 : 20, wall ? 200 : 30)
    }
  }
  for (let k = 0; k < 1.5; k += 0.5 / cell) {
    dot(4 + (w.x + Math.cos(w.angle) * k) * cell, 4 + (w.y + Math.sin(w.angle) * k) * cell, 255, 200, 0)
  }
  for (let k = 0; k < 4; k++) dot(4 + w.x * cell + (k & 1), 4 + w.y * cell + (k >> 1), 255, 40, 40)
}

export const model = Model.make(Commands, {
  name: "maze-world",
  description: "A raycast maze to walk through, generated in blocks of frames like a world model",
  config: Config,
  frameSize: { width: 320, height: 180 },
  session: ({ config }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const maze = makeMaze(config.mazeSize, config.seed)
      const start = startOf(maze)
      const world = yield* Ref.make(start)
      // Every command tells the client what the controls now hold, so a page can show them.
      const control = (f: (w: World) => World) =>
        Effect.flatMap(Ref.updateAndGet(world, f), ({ pitch, turn, turnSpeed, walk, x, y }) =>
          ctx.send({ type: "state", walk, turn, turnSpeed, x, y, pitch }))
      return {
        handlers: {
          move: ({ direction }) =>
            control((w) => ({ ...w, walk: direction })),
          set_camera: ({ direction, speed }) => control((w) => ({ ...w, turn: direction, turnSpeed: speed })),
          reset: () => control(() => start)
        },
        run: Effect.gen(function*() {
          const dt = 1 / config.fps
          while (true) {
            const began = Date.now()
            const block: Array<Frame.Frame> = []
            for (let i = 0; i < config.blockSize; i++) {
              const w = yield* Ref.updateAndGet(world, (w) => advance(maze, w, dt))
              block.push(render(maze, w, config.width, config.height))
            }
            yield* ctx.emit(block)
            // A real world model spends this time on the GPU; a procedural one waits to keep the frame rate.
            yield* Effect.sleep(Math.max(0, config.blockSize * 1000 / config.fps - (Date.now() - began)))
          }
        })
      }
    })
})

export default model

runIfMain(import.meta, model)
