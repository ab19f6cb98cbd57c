import { installPromiseWithResolvers } from '../src/polyfill.ts'
import { expect } from './utils/expect.ts'

describe('polyfill: Promise.withResolvers', () => {
  it('is available before libp2p loads (installed by the test setup on Node 20)', () => {
    expect(typeof Promise.withResolvers).to.equal('function')
  })

  it('installs a working withResolvers on a runtime that lacks it', async () => {
    class Bare<T> extends Promise<T> {}
    Object.defineProperty(Bare, 'withResolvers', { value: undefined, configurable: true, writable: true })

    expect(installPromiseWithResolvers(Bare)).to.equal(true)
    const fulfilled = Bare.withResolvers<number>()
    expect(fulfilled.promise).to.be.instanceOf(Bare)
    fulfilled.resolve(42)
    expect(await fulfilled.promise).to.equal(42)

    const rejected = Bare.withResolvers<number>()
    rejected.reject(new Error('boom'))
    await expect(rejected.promise).to.be.rejectedWith('boom')
  })

  it('leaves a native implementation alone', () => {
    class WithNative<T> extends Promise<T> {
      static override withResolvers<T> (): PromiseWithResolvers<T> { return super.withResolvers<T>() }
    }
    const before = WithNative.withResolvers
    expect(installPromiseWithResolvers(WithNative)).to.equal(false)
    expect(WithNative.withResolvers).to.equal(before)
  })
})
