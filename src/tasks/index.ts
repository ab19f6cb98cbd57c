/**
 * Background work shared by every subsystem: a repeating task with a deadline per run, and the one
 * catch handler for expected failures that lets programmer errors out.
 *
 * @packageDocumentation
 */

export { RepeatingTask } from './repeating-task.ts'
export type { RepeatingTaskInit } from './repeating-task.ts'
export { expected, isProgrammerError } from './failure.ts'
