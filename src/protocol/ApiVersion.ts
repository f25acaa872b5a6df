/**
 * Reactor's version headers: `Reactor-API-Version` / `Reactor-API-Accept-Version`, and the version this server speaks.
 * The HTTP layer checks them (`http/VersionCheck`).
 */

/** The protocol version this server speaks. */
export const current = 1

export const headers = ["reactor-api-version", "reactor-api-accept-version"] as const
