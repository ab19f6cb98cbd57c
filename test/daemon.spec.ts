import { startSeparator, timestampLines } from '../src/daemon.ts'
import { expect } from './utils/expect.ts'

describe('daemon: log lines', () => {
  it('timestampLines() stamps each line once, also lines written in pieces', () => {
    const written: string[] = []
    const stream = { write: (chunk: string | Uint8Array): boolean => { written.push(String(chunk)); return true } }
    const at = new Date('2026-12-01T10:00:00.000Z')
    timestampLines(stream, () => at)
    stream.write('one\ntwo\n')
    stream.write('thr')
    stream.write('ee\n')
    stream.write(new TextEncoder().encode('four\n'))
    expect(written.join('')).to.equal([
      '2026-12-01T10:00:00.000Z one',
      '2026-12-01T10:00:00.000Z two',
      '2026-12-01T10:00:00.000Z three',
      '2026-12-01T10:00:00.000Z four',
      ''
    ].join('\n'))
  })

  it('startSeparator() names the time and the pid', () => {
    expect(startSeparator(42, new Date('2026-12-01T10:00:00.000Z'))).to.equal('--- daemon started 2026-12-01T10:00:00.000Z (pid 42) ---')
  })
})
