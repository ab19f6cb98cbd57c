/**
 * `Promise.withResolvers()` for Node.js 20.
 *
 * libp2p 3.x and its transports, muxers and services call `Promise.withResolvers()`, which Node.js
 * only ships from version 22. Node 20 is still the LTS many operators run, so every entry point of
 * p2pstore (the library's `index.ts`, the CLI's `bin/p2pstore.js`, mocha's setup) imports this module
 * **before anything from libp2p is evaluated**. It has no imports of its own, so ESM evaluation
 * order guarantees it runs first when it is the first import of a module.
 *
 * The implementation follows the TC39 proposal exactly: a fresh promise plus its resolve and reject
 * functions. On Node 22+ the native method is left untouched.
 *
 * @packageDocumentation
 */

interface Resolvers<T> {
  promise: Promise<T>
  resolve(value: T | PromiseLike<T>): void
  reject(reason?: unknown): void
}

/**
 * Installs `Promise.withResolvers` when the runtime lacks it.
 *
 * @returns `true` when the polyfill was installed, `false` when the runtime already had it
 */
export function installPromiseWithResolvers (target: PromiseConstructor = Promise): boolean {
  if (typeof (target as { withResolvers?: unknown }).withResolvers === 'function') {
    return false
  }

  Object.defineProperty(target, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T> (this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve']
      let reject!: Resolvers<T>['reject']
      // `this` so that subclasses of Promise get instances of themselves, as the spec requires
      const Ctor = this ?? Promise
      const promise = new Ctor<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })

  return true
}

installPromiseWithResolvers()
