/**
 * Route schemas and what their failures say. Fastify validates params, query and body against a
 * route's JSON schema before the handler runs (Ajv, set up in `index.ts` without type coercion
 * and with the offending value kept); `invalidInput()` turns the first failure into an
 * `InvalidParametersError` with the message written for that field, so an answer is the usual
 * `{ error, message, hint }` with status 400 from the ERRORS table.
 */

import { InvalidParametersError } from '@libp2p/interface'
import type { FastifySchemaValidationError } from 'fastify'

/** A field's message, from the value that failed (as Ajv saw it: a string, an array, …). */
export type FieldMessage = (value: unknown) => string

/**
 * A route's `schemaErrorFormatter`: the message of the field that failed first (by its name, the
 * first segment of the failure's path; `''` for the whole body or query), else Ajv's own.
 */
export function invalidInput (messages: Record<string, FieldMessage>): (errors: FastifySchemaValidationError[], dataVar: string) => Error {
  return (errors, dataVar) => {
    const first = errors[0] as (FastifySchemaValidationError & { data?: unknown }) | undefined
    const field = (first?.instancePath ?? '').split('/')[1] ?? ''
    const message = messages[field]
    if (first == null || message == null) {
      return new InvalidParametersError(`${dataVar}${first?.instancePath ?? ''} ${first?.message ?? 'is not valid'}`)
    }
    return new InvalidParametersError(message(first.data))
  }
}

/**
 * A pattern that matches the whole numbers from 1 to `max` as a query string writes them (leading
 * zeros allowed), or nothing at all (an empty value means "not given").
 */
export function wholeNumberPattern (max: number): string {
  const numbers = Array.from({ length: max }, (_, i) => String(i + 1)).reverse()
  return `^(?:0*(?:${numbers.join('|')}))?$`
}
