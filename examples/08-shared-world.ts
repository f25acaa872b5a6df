/**
 * 07: a small world several people look at. A walker crosses a field with a pond; one viewer steers it (WASD) while
 * others watch. It shows the model API Reactor's newer runtime has:
 * - a declared state (`speed`, `palette`): each field is a `set_<field>` command with its bounds, and every viewer is
 *   sent the state when it changes;
 * - typed replies: `where` answers the walker's position; `teleport` answers where it landed, or refuses with a code
 *   of its own (`in_the_pond`);
 * - hooks: every viewer hears who joined and left; `restart` cuts the picture to black (`ctx.flush`) and starts over.
 *
 * Serve it: `npx reactor run examples/08-shared-world.ts`, open http://127.0.0.1:8080 to steer, and watch the same
 * session from a second page of Reactor's SDK with `apiUrl` = `http://127.0.0.1:8080/sessions/<id>/watchers/<any>`.
 */
import { Effect, Ref, Schedule, Schema } from "effect"
import { Command, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

export const width = 160
export const height = 90
/** The pond: a circle the walker cannot be teleported into. */
export const pond = { x: 110, y: 45, r: 18 } as const

export const Look = Schema.Struct({
  speed: Param.number({ min: 0, max: 4, default: 1, description: "Steps per frame" }),
  palette: Param.literal(["day", "night"], { default: "day", description: "Light" })
})

const Position = Schema.Struct({ x: Schema.Number, y: Schema.Number })

export const Commands = Command.group(
  Command.make("steer", {
    description: "Which way the walker goes",
    payload: { direction: Param.literal(["up", "down", "left", "right", "stop"], { description: "Direction" }) },
    keys: {
      press: {
        w: { direction: "up" },
        s: { direction: "down" },
        a: { direction: "left" },
        d: { direction: "right" }
      },
      release: { direction: "stop" }
    }
  }),
  Command.make("where", {
    description: "Says where the walker is",
    success: Schema.Struct({ x: Schema.Number, y: Schema.Number, viewers: Schema.Number })
      .annotations({ identifier: "WalkerPosition" })
  }),
  Command.make("teleport", {
    description: "Moves the walker at once (not into the pond)",
    payload: {
      x: Param.int({ min: 0, max: width - 1, description: "Column" }),
      y: Param.int({ min: 0, max: height - 1, description: "Row" })
    },
    success: Position
  }),
  Command.make("restart", { description: "Cuts to black and starts the walk over" })
)

const steps = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0], stop: [0, 0] } as const
const inPond = (x: number, y: number) => (x - pond.x) ** 2 + (y - pond.y) ** 2 <= pond.r ** 2

const render = (x: number, y: number, night: boolean): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const ground = night ? [20, 30, 45] : [90, 160, 70]
  const water = night ? [10, 20, 60] : [60, 120, 220]
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const i = (row * width + col) * 3
      const colour = Math.abs(col - x) <= 2 && Math.abs(row - y) <= 2
        ? [250, 220, 40]
        : inPond(col, row)
        ? water
        : ground
      data[i] = colour[0]!
      data[i + 1] = colour[1]!
      data[i + 2] = colour[2]!
    }
  }
  return Frame.make(width, height, data)
}

const start = { x: 20, y: 45 }

interface Walker {
  readonly x: number
  readonly y: number
  readonly heading: keyof typeof steps
}

export const model = Model.make(Commands, {
  name: "shared-world",
  frameSize: { width, height },
  state: Look,
  session: ({ state }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const walker = yield* Ref.make<Walker>({ ...start, heading: "stop" })
      const viewers = yield* Ref.make(0)
      const step = Effect.gen(function*() {
        const { palette, speed } = yield* state.get
        const at = yield* Ref.updateAndGet(walker, (w) => {
          const [dx, dy] = steps[w.heading]
          const x = Math.min(width - 1, Math.max(0, w.x + dx * speed))
          const y = Math.min(height - 1, Math.max(0, w.y + dy * speed))
          return inPond(x, y) ? w : { ...w, x, y }
        })
        yield* ctx.emit(render(Math.round(at.x), Math.round(at.y), palette === "night"))
      })
      return {
        handlers: {
          steer: ({ direction }) => Ref.update(walker, (w) => ({ ...w, heading: direction })),
          where: () =>
            Effect.gen(function*() {
              const { x, y } = yield* Ref.get(walker)
              return { x, y, viewers: yield* Ref.get(viewers) }
            }),
          teleport: ({ x, y }) =>
            inPond(x, y)
              ? Command.refuse("in_the_pond", `(${x}, ${y}) is in the pond; pick a spot on the grass`)
              : Effect.as(Ref.update(walker, (w) => ({ ...w, x, y })), { x, y }),
          restart: () => Effect.zipRight(ctx.flush, Ref.set<Walker>(walker, { ...start, heading: "stop" }))
        },
        run: step.pipe(Effect.repeat(Schedule.fixed(1000 / 30))),
        hooks: {
          connected: (viewer) =>
            Effect.flatMap(
              Ref.updateAndGet(viewers, (n) => n + 1),
              (n) => ctx.send({ type: "joined", data: { role: viewer.role, viewers: n } })
            ),
          disconnected: (viewer) =>
            Effect.flatMap(
              Ref.updateAndGet(viewers, (n) => n - 1),
              (n) => ctx.send({ type: "left", data: { role: viewer.role, viewers: n } })
            )
        }
      }
    })
})

export default model
runIfMain(import.meta, model)
