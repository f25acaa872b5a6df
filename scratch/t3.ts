import { Effect, Layer, Scope } from "effect"
import { Reactor, EndReason } from "effect-reactor"
import { Model } from "effect-reactor"
import model from "../examples/01-prompt.js"

const program = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  console.log(JSON.stringify(reactor.model.capabilities, null, 1))
  const s = yield* reactor.start()
  const scope = yield* Scope.make()
  const sub = yield* s.frames(4).pipe(Scope.extend(scope))
  const f = yield* sub.take
  console.log("frame", f.index, f.frame.width, f.frame.height)
  console.log(yield* s.submit({ type: "set_prompt", data: { prompt: "rain" }, id: 1 }))
  console.log(yield* Effect.either(s.submit({ type: "set_prompt", data: { prompt: 3 } })))
  console.log(yield* Effect.either(s.submit({ type: "set_speed", data: { speed: 9, x: 1 } })))
  console.log(yield* Effect.either(s.submit({ type: "nope" })))
  yield* Effect.sleep(1000)
  console.log(yield* s.stats)
  console.log(yield* sub.dropped)
  console.log(EndReason.describe(yield* s.stop(EndReason.Stopped({ by: "test" }))))
})
Effect.runPromise(program.pipe(Effect.provide(Reactor.layer().pipe(Layer.provide(model), Layer.provide(Model.ConfigInput.empty))), Effect.scoped))
