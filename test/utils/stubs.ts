import { stubInterface } from 'sinon-ts'
import type { StubbedInstance } from 'sinon-ts'

/** `stubInterface<T>()` with its stubs programmed by `setup` (e.g. `s => s.status.resolves(x)`). */
export function stubWith<T extends object> (setup: (stub: StubbedInstance<T>) => unknown): StubbedInstance<T> {
  const stub = stubInterface<T>()
  setup(stub)
  return stub
}
