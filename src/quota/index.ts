/**
 * Quotas (issue #19): what one peer may make this one do. `TokenBucket` is the rate limiter;
 * `KvQuotas` holds, per peer, the requests and frame bytes a second and the requests in flight it
 * may send on the kv protocol, plus a global request rate no single peer can reach alone. The kv
 * server asks it before it serves each request and stops reading a peer that is over quota.
 *
 * @packageDocumentation
 */

export { TokenBucket } from './token-bucket.ts'
export type { TokenBucketInit } from './token-bucket.ts'
export { KvQuotas } from './kv-quotas.ts'
export type { AcquireOptions, Admitted, KvQuotasComponents, KvQuotasInit, Throttled, ThrottleKind } from './kv-quotas.ts'
