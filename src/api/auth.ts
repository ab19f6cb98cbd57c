import { timingSafeEqual, createHash } from 'node:crypto'
import { ForbiddenError, TooManyAuthFailuresError, UnauthorizedError } from '../errors.ts'
import { ROLE_PERMISSIONS, ROLES } from '../tokens/index.ts'
import type { AuthFailures } from './auth-failures.ts'
import type { Permission, TokenStore } from '../tokens/index.ts'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/**
 * Demands `Authorization: Bearer <token>` on every request: one fixed token, no roles. Kept for
 * embedders of `createApiServer({ token })`; daemons use `requireApiTokens()`.
 */
export function requireBearerToken (app: FastifyInstance, token: string): void {
  const expected = digest(token)
  app.addHook('onRequest', async (request) => {
    const presented = bearer(request)
    // compare digests so that the comparison is constant-time whatever the lengths
    if (presented == null || !timingSafeEqual(digest(presented), expected)) {
      throw new UnauthorizedError('missing or wrong bearer token')
    }
  })
}

/** What each route needs, and whether its `:key` is subject to a token's prefix. */
export interface RoutePermission {
  permission: Permission
  /** the route's `:key` must start with the token's prefix */
  keyed?: boolean
  /** the route's `?prefix=` (a listing) must start with the token's prefix */
  prefixed?: boolean
}

/**
 * `METHOD url-pattern` → what it needs. HEAD counts as GET. A route missing here needs `admin`
 * (fail closed), and a test fails when a served route is missing.
 */
export const ROUTE_PERMISSIONS: Readonly<Record<string, RoutePermission>> = {
  'GET /v1/health': { permission: 'health' },
  'GET /v1/events': { permission: 'health' },
  'GET /ui': { permission: 'health' },
  'POST /v1/ui/session': { permission: 'health' },
  'GET /metrics': { permission: 'metrics' },
  'GET /v1/status': { permission: 'read' },
  'GET /v1/peers': { permission: 'read' },
  'GET /v1/ring': { permission: 'read' },
  'GET /v1/limits': { permission: 'read' },
  'GET /v1/kv': { permission: 'read', prefixed: true },
  'GET /v1/kv/:key': { permission: 'read', keyed: true },
  'PUT /v1/kv/:key': { permission: 'write', keyed: true },
  'DELETE /v1/kv/:key': { permission: 'write', keyed: true },
  'GET /v1/locate/:key': { permission: 'read', keyed: true },
  // each item is checked on its own (`grantOf`): writes need write, keys the token's prefix
  'POST /v1/batch': { permission: 'read' },
  'GET /v1/faults': { permission: 'admin' },
  'PUT /v1/faults/partition': { permission: 'admin' },
  'DELETE /v1/faults/partition': { permission: 'admin' }
}

/** What a request's token allows, for routes that check more than their own route (a batch's items). */
export interface Grant {
  /** the token's id, for messages */
  id: string
  permissions: ReadonlySet<Permission>
  /** keys must start with this. @default undefined (any key) */
  prefix?: string
}

const GRANTS = new WeakMap<FastifyRequest, Grant>()

/**
 * What `request`'s API token allows; undefined when no token store checks this API (no auth, or
 * one fixed token): then everything is allowed. A batch checks each item against it.
 */
export function grantOf (request: FastifyRequest): Grant | undefined {
  return GRANTS.get(request)
}

/** Options of `requireApiTokens()`. */
export interface ApiTokensInit {
  /** the tokens, re-read on every request when their file changed */
  store: TokenStore
  /**
   * Demand a token even while the store is empty. Off (loopback), an empty store leaves the API
   * open; once it holds any entry (revoked ones too, so revoking the last token never opens the
   * API) every request needs a token.
   *
   * @default true
   */
  required?: boolean
  /**
   * Failed authentications per client address: past its limit, an address's requests without a
   * valid token get a 429 instead of a 401 until its window ends (issue #19). @default none (not counted)
   */
  failures?: AuthFailures
}

/**
 * Checks every request against the token store: 401 `UnauthorizedError` for a missing, wrong,
 * expired or revoked token; 403 `ForbiddenError` when the token's role lacks the route's permission
 * or a key is outside its prefix. The prefix check looks at the key name only, before any lookup,
 * so a 403 tells nothing about whether the key exists. An unknown endpoint answers 404 to any valid
 * token.
 */
export function requireApiTokens (app: FastifyInstance, init: ApiTokensInit): void {
  const required = init.required ?? true
  app.addHook('onRequest', async (request) => {
    if (!required && init.store.entries().length === 0) return
    // the status page's cookie stands in for the header on GET only: a cross-site form cannot write with it
    const secret = bearer(request) ?? (request.method === 'GET' || request.method === 'HEAD' ? uiCookie(request) : undefined)
    const token = authenticate(init, request.ip, secret)
    GRANTS.set(request, { id: token.id, permissions: ROLE_PERMISSIONS[token.role], ...(token.prefix == null ? {} : { prefix: token.prefix }) })

    const url = request.routeOptions.url
    if (url == null) return
    const method = request.method === 'HEAD' ? 'GET' : request.method
    const route = ROUTE_PERMISSIONS[`${method} ${url}`] ?? { permission: 'admin' }
    if (!ROLE_PERMISSIONS[token.role].has(route.permission)) {
      const roles = ROLES.filter(role => ROLE_PERMISSIONS[role].has(route.permission))
      throw new ForbiddenError(`token ${token.id} has the role ${token.role}; ${method} ${url} needs ${roles.join(' or ')}`)
    }
    if (route.keyed === true) requireKeyInPrefix(token, (request.params as { key?: string } | undefined)?.key ?? '')
    if (route.prefixed === true && token.prefix != null) {
      const prefix = (request.query as { prefix?: unknown } | undefined)?.prefix
      if (typeof prefix !== 'string' || !prefix.startsWith(token.prefix)) {
        throw new ForbiddenError(`token ${token.id} may only list keys starting with "${token.prefix}": pass ?prefix=${encodeURIComponent(token.prefix)}…`)
      }
    }
  })
}

/** 403 `ForbiddenError` unless `key` lies within the token's prefix (a token without one may use every key). */
export function requireKeyInPrefix (token: { id: string, prefix?: string }, key: string): void {
  if (token.prefix != null && !key.startsWith(token.prefix)) {
    throw new ForbiddenError(`token ${token.id} may only use keys starting with "${token.prefix}"`)
  }
}

/**
 * The token `secret` names, or a 401 — a 429 once `request`'s address failed too often. A valid
 * token works whatever its address did: clients behind one NAT share an address with the flood.
 */
function authenticate (init: ApiTokensInit, address: string, secret: string | undefined): ReturnType<TokenStore['verify']> {
  const failures = init.failures
  try {
    if (secret == null) throw new UnauthorizedError('this API demands a bearer token (Authorization: Bearer p2ps_…)')
    return init.store.verify(secret)
  } catch (err) {
    if (failures == null || (err as Error).name !== 'UnauthorizedError') throw err
    if (failures.refuses(address)) {
      throw new TooManyAuthFailuresError(`too many requests without a valid token from ${address}: refused for ${Math.ceil(failures.retryAfter(address) / 1000)} s more`)
    }
    failures.fail(address)
    throw err
  }
}

function bearer (request: FastifyRequest): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')
  return match?.[1]
}

/** The cookie `POST /v1/ui/session` sets for the status page (see routes/ui.ts). */
export const UI_COOKIE = 'p2pstore_ui'
/** How long the status page's cookie lasts (seconds): 12 h. */
export const UI_COOKIE_MAX_AGE = 12 * 3600

function uiCookie (request: FastifyRequest): string | undefined {
  const match = new RegExp(`(?:^|;\\s*)${UI_COOKIE}=([^;\\s]+)`).exec(request.headers.cookie ?? '')
  return match?.[1]
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** true for hosts that only this machine can reach */
export function isLoopbackHost (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
