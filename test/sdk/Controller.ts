/**
 * Driving the SDK's `ReactorController` in a test page: its command panels (collapsed at first), their controls and
 * their Execute buttons, found by the command's name as the controller renders it.
 */
import type { Locator, Page } from "playwright-core"

const title = (page: Page, command: string): Locator => page.locator("h4", { hasText: new RegExp(`^${command}$`) })

/** Opens a command's panel (they start collapsed). */
export const expand = (page: Page, command: string): Promise<void> => title(page, command).click()

/** Clicks a command's Execute button. */
export const execute = (page: Page, command: string): Promise<void> =>
  page.getByRole("button", { name: `Execute ${command}` }).click()

/** A command's box: box > header > title > h4. */
export const panel = (page: Page, command: string): Locator => title(page, command).locator("xpath=ancestor::div[3]")
