/**
 * A token bucket: `perSecond` tokens a second, at most `burst` saved up. One per connection for its commands (beyond
 * the budget a command is refused with `rate_limited`) and one for all its messages (beyond it the connection is read
 * more slowly), so a flooding client costs the server a bounded share of its time.
 */

/** A bucket's state; mutable, owned by one connection. */
export interface Bucket {
  readonly perSecond: number
  readonly burst: number
  tokens: number
  updatedAt: number
}

/** A full bucket. Times are the caller's clock in ms (a connection reads Effect's `Clock`, so tests can move it). */
export const make = (perSecond: number, burst: number, now: number): Bucket => ({
  perSecond,
  burst: Math.max(1, burst),
  tokens: Math.max(1, burst),
  updatedAt: now
})

const refill = (bucket: Bucket, now: number) => {
  if (now > bucket.updatedAt) {
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.updatedAt) * bucket.perSecond) / 1000)
    bucket.updatedAt = now
  }
}

/** Takes a token if there is one. */
export const take = (bucket: Bucket, now: number): boolean => {
  refill(bucket, now)
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}

/** How long until a token is there (0 = now); takes nothing. */
export const waitMs = (bucket: Bucket, now: number): number => {
  refill(bucket, now)
  if (bucket.tokens >= 1) return 0
  return Math.ceil(((1 - bucket.tokens) * 1000) / bucket.perSecond)
}

/**
 * Spends `count` tokens at once, going into debt if there are not that many (a message that carried many requests
 * has already been read): how long until a token is there again (0 = now), which the reader waits before reading on.
 */
export const charge = (bucket: Bucket, count: number, now: number): number => {
  refill(bucket, now)
  bucket.tokens -= count
  return waitMs(bucket, now)
}
