/**
 * The official SDK as a Reactor app ships it: `@reactor-team/js-sdk` 2.9.0's ReactorProvider, ReactorView and
 * ReactorController, bundled unchanged (Bundle.ts), in Debian's Chromium against the server over WebRTC. Tests read
 * the `<video>`'s pixels (drawn to a canvas) and the page's probe (`window.sdk`).
 */
import type { Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Chromium from "../web/Chromium.js"
import * as Controller from "./Controller.js"
import * as Suite from "./Suite.js"
import { near, pixel, type Rgb } from "./VideoPixel.js"

Suite.warnIfSkipped("test/sdk/chromium.test.ts")

interface Probe {
  readonly status: string
  readonly sessionId: string | null
  readonly messages: Array<unknown>
  readonly disconnect: (() => Promise<void>) | null
}

declare global {
  interface Window {
    sdk: Probe
  }
}

/** Where each region of the fixture's 160x90 frame is sampled (x, y). */
const at = { left: [40, 40], topRight: [120, 20], middleRight: [120, 60] } as const

describe.skipIf(!Chromium.run)(
  Chromium.run ? "sdk: the official React components in Chromium" : `sdk in Chromium: skipped, ${Chromium.missing}`,
  { timeout: subprocessTestMs },
  () => {
    const suite = Suite.start({ model: Fixture.model, server: { maxSessions: 4 } })

    const open = async (): Promise<Page> => {
      const page = await suite.browser.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${suite.server.url}/`)
      await page.waitForFunction(() => window.sdk?.status === "ready", null, { timeout: subprocessMs })
      return page
    }

    const probe = (page: Page) =>
      page.evaluate(() => ({
        status: window.sdk.status,
        sessionId: window.sdk.sessionId,
        messages: window.sdk.messages
      }))

    const expectColour = (page: Page, where: readonly [number, number], wanted: Rgb) =>
      expect.poll(() => pixel(page, where), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
        near(rgb, wanted)
      )

    it("reaches ready, and ReactorView plays the model's video: currentTime advances and the pixels are the model's", async () => {
      const page = await open()
      const { sessionId } = await probe(page)
      expect(sessionId).toMatch(/^[\w-]{16,}$/)
      const time = () => page.evaluate(() => document.querySelector("video")!.currentTime)
      const first = await time()
      await expect.poll(time, { timeout: subprocessMs }).toBeGreaterThan(first)
      await expect.poll(() => page.evaluate(() => document.querySelector("video")!.videoWidth), {
        timeout: subprocessMs
      })
        .toBe(Fixture.width)
      await expectColour(page, at.left, Fixture.expected(Fixture.initial).left)
      await expectColour(page, at.middleRight, Fixture.expected(Fixture.initial).middleRight)
      await page.close()
    })

    it("every control ReactorController renders from our schema reaches the model and changes the render", async () => {
      const page = await open()
      await page.getByText("set_color", { exact: true }).waitFor({ timeout: subprocessMs })
      let state = Fixture.initial

      // select (string enum) + Execute
      await Controller.expand(page, "set_color")
      await Controller.panel(page, "set_color").locator("select").selectOption("blue")
      await Controller.execute(page, "set_color")
      state = { ...state, hue: "blue" }
      await expectColour(page, at.left, Fixture.expected(state).left)

      // slider (number with both bounds): it sends on every change, but the value before the change (an SDK bug),
      // so it is moved twice: the second change sends the first value (0.3, not 1)
      await Controller.expand(page, "set_brightness")
      const slider = Controller.panel(page, "set_brightness").locator("input[type=range]")
      await slider.fill("0.3")
      await slider.fill("1")
      state = { ...state, level: 0.3 }
      await expectColour(page, at.left, Fixture.expected(state).left)

      // checkbox (boolean) + Execute
      await Controller.expand(page, "set_invert")
      await Controller.panel(page, "set_invert").locator("input[type=checkbox]").check()
      await Controller.execute(page, "set_invert")
      state = { ...state, invert: true }
      await expectColour(page, at.left, Fixture.expected(state).left)

      // text field (string) + Execute
      await Controller.expand(page, "set_label")
      await Controller.panel(page, "set_label").locator("input[type=text]").fill("abcd")
      await Controller.execute(page, "set_label")
      // number input (integer without a maximum) + Execute
      await Controller.expand(page, "set_count")
      await Controller.panel(page, "set_count").locator("input[type=number]").fill("6")
      await Controller.execute(page, "set_count")
      state = { ...state, label: "abcd", count: 6 }
      await expectColour(page, at.topRight, Fixture.expected(state).topRight)

      // a second select
      await Controller.expand(page, "move")
      await Controller.panel(page, "move").locator("select").selectOption("up")
      await Controller.execute(page, "move")
      state = { ...state, direction: "up" }
      await expectColour(page, at.middleRight, Fixture.expected(state).middleRight)

      // a command without parameters: a button (reset puts every region back)
      await Controller.expand(page, "reset")
      await Controller.execute(page, "reset")
      await expectColour(page, at.left, Fixture.expected(Fixture.initial).left)
      await expectColour(page, at.middleRight, Fixture.expected(Fixture.initial).middleRight)
      await page.close()
    }, subprocessTestMs)

    it("a model message reaches the page (useReactorMessage)", async () => {
      const page = await open()
      await page.getByText("reset", { exact: true }).waitFor({ timeout: subprocessMs })
      await Controller.expand(page, "reset")
      await Controller.execute(page, "reset")
      await expect.poll(async () => (await probe(page)).messages, { timeout: subprocessMs }).toContainEqual({
        type: "reset",
        data: {}
      })
      await page.close()
    })

    it("stopping (the SDK's disconnect) ends the session with its finalizer run", async () => {
      // the SDK's stop_session names no session: it is this one only while it runs alone (earlier tabs' sessions end
      // when their orphan window does)
      const sessions = async () =>
        ((await (await fetch(`${suite.server.url}/health`)).json()) as { sessions: number }).sessions
      await expect.poll(sessions, { timeout: subprocessMs, interval: 200 }).toBe(0)
      const page = await open()
      const { sessionId } = await probe(page)
      const stopped = page.waitForResponse((response) => response.url().endsWith("/stop_session"))
      await page.evaluate(() => window.sdk.disconnect!())
      const answer = await stopped
      expect(answer.status()).toBe(200)
      expect(await answer.json()).toMatchObject({ session_id: sessionId, state: "stopped", reason: "stopped" })
      // the answer waits for the stop, finalizers included
      expect(Fixture.ended).toContain(sessionId)
      await expect.poll(async () => (await probe(page)).status).toBe("disconnected")
      await page.close()
    }, subprocessTestMs)

    it("drives every example model: ready, playing, every command rendered, a control's command applied", async () => {
      const examples = [
        {
          file: "01-prompt",
          load: () => import("../../examples/01-prompt.js"),
          commands: ["set_prompt", "set_speed"],
          act: async (page: Page) => {
            await Controller.expand(page, "set_prompt")
            await Controller.panel(page, "set_prompt").locator("input[type=text]").fill("a rainy night")
            await Controller.execute(page, "set_prompt")
          }
        },
        {
          file: "02-world",
          load: () => import("../../examples/02-world.js"),
          commands: ["move", "set_camera", "reset"],
          act: async (page: Page) => {
            await Controller.expand(page, "reset")
            await Controller.execute(page, "reset")
          }
        },
        {
          file: "03-stopping",
          load: () => import("../../examples/03-stopping.js"),
          commands: ["set_steps", "set_seed"],
          act: async (page: Page) => {
            await Controller.expand(page, "set_steps")
            const slider = Controller.panel(page, "set_steps").locator("input[type=range]")
            await slider.fill("5")
            await slider.fill("9") // sends 5 (the slider's previous value)
          }
        }
      ] as const
      for (const example of examples) {
        const { model } = await example.load()
        const served = await Server.listen(
          model,
          { host: "127.0.0.1", port: 0, webRoot: suite.webRoot },
          undefined,
          Suite.logLevel
        )
        const page = await suite.browser.newPage()
        try {
          await page.goto(`${served.url}/`)
          await page.waitForFunction(() => window.sdk?.status === "ready", null, { timeout: subprocessMs })
          const time = () => page.evaluate(() => document.querySelector("video")!.currentTime)
          const first = await time()
          await expect.poll(time, { timeout: subprocessMs }).toBeGreaterThan(first)
          await page.locator("h4").first().waitFor({ timeout: subprocessMs })
          expect(await page.locator("h4").allTextContents(), example.file).toEqual([...example.commands])
          const { sessionId } = await probe(page)
          await example.act(page)
          const applied = async () =>
            ((await (await fetch(`${served.url}/sessions/${sessionId}/info`)).json()) as any).stats
              .commands_applied as number
          await expect.poll(applied, { timeout: subprocessMs }).toBeGreaterThan(0)
        } finally {
          await page.close()
          await served.close()
        }
      }
    }, subprocessTestMs)

    it(
      "closing the tab ends the session: the peer goes, the session is orphaned, then stopped with its finalizer",
      async () => {
        const page = await open()
        const { sessionId } = await probe(page)
        await page.close() // no beforeunload: the tab just goes
        const state = async () =>
          ((await (await fetch(`${suite.server.url}/sessions/${sessionId}/info`)).json()) as { state?: string }).state
        await expect.poll(state, { timeout: subprocessMs, interval: 100 }).toBe("orphaned")
        await expect.poll(() => Fixture.ended.includes(sessionId!), { timeout: subprocessMs, interval: 200 }).toBe(true)
      },
      60_000
    )
  }
)
