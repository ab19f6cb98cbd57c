import { multiaddrConnectionPair } from '@libp2p/utils'
import { YAMUX_MAX_STREAMS, YAMUX_MAX_STREAM_WINDOW } from '../../src/constants.ts'
import { deferredWindowYamux, limitFrameLength, yamuxLimits } from '../../src/protocol/index.ts'
import { eventually } from '../utils/eventually.ts'
import { expect } from '../utils/expect.ts'
import type { MultiaddrConnection, StreamMuxer } from '@libp2p/interface'

/** A yamux frame header: version 0, type, flags, stream id, length. */
function header (type: number, flags: number, streamId: number, length: number): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  out[0] = 0
  out[1] = type
  view.setUint16(2, flags)
  view.setUint32(4, streamId)
  view.setUint32(8, length)
  return out
}
const DATA = 0
const SYN = 1
const RST = 8

/**
 * Our muxer on one end of an in-memory connection, and the other end's raw bytes: the hostile
 * side speaks yamux by hand, with no library to keep it honest.
 */
function rawPair (): { muxer: StreamMuxer, ours: MultiaddrConnection, raw: MultiaddrConnection } {
  const [raw, ours] = multiaddrConnectionPair()
  const muxer = deferredWindowYamux({ enableKeepAlive: false })().createStreamMuxer(ours)
  return { muxer, ours, raw }
}

describe('Yamux limits', () => {
  it('runs with 256 streams each way and a 4 MiB window unless told otherwise', () => {
    const init = yamuxLimits()
    expect(init).to.deep.include({ maxInboundStreams: YAMUX_MAX_STREAMS, maxOutboundStreams: YAMUX_MAX_STREAMS })
    expect(init.streamOptions?.maxStreamWindowSize).to.equal(YAMUX_MAX_STREAM_WINDOW)
    expect(yamuxLimits({ maxInboundStreams: 3 }).maxInboundStreams).to.equal(3)
  })

  it('closes the connection at the header of a data frame longer than the largest window, before its body', async () => {
    const { muxer, ours, raw } = rawPair()
    // a stream opened by SYN, then a data frame announced at 1 GiB of which 64 KiB ever arrive
    raw.send(header(DATA, SYN, 1, 0))
    await eventually(async () => muxer.streams.length === 1, 'the stream opened')
    raw.send(header(DATA, 0, 1, 1024 ** 3))
    raw.send(new Uint8Array(64 * 1024))
    await eventually(async () => ours.status !== 'open', 'our side of the connection closed')
    expect(muxer.status).to.not.equal('open')
  })

  it('keeps a data frame that fits the window', async () => {
    const { muxer, ours, raw } = rawPair()
    raw.send(header(DATA, SYN, 1, 0))
    await eventually(async () => muxer.streams.length === 1, 'the stream opened')
    const stream = muxer.streams[0]
    if (stream == null) throw new Error('no stream')
    let received = 0
    stream.addEventListener('message', evt => { received += evt.data.byteLength })
    raw.send(header(DATA, 0, 1, 1000))
    raw.send(new Uint8Array(1000))
    await eventually(async () => received === 1000, 'the frame delivered')
    expect(ours.status).to.equal('open')
    await muxer.close()
  })

  it('refuses the 257th inbound stream of a connection', async () => {
    const { muxer, raw } = rawPair()
    // the upper layer takes every stream (without a listener the muxer keeps at most 10 waiting)
    muxer.addEventListener('stream', () => {})
    // what the muxer answers: a reset (flag RST) of the stream past the cap ends the test
    const last = 2 * YAMUX_MAX_STREAMS + 1
    let lastReset = false
    let bytes = new Uint8Array(0)
    raw.addEventListener('message', evt => {
      bytes = Uint8Array.from([...bytes, ...evt.data.subarray()])
      while (bytes.byteLength >= 12) {
        const view = new DataView(bytes.buffer, bytes.byteOffset)
        const length = bytes[1] === DATA ? view.getUint32(8) : 0
        if (view.getUint32(4) === last && (view.getUint16(2) & RST) !== 0) lastReset = true
        bytes = bytes.slice(12 + length)
      }
    })
    for (let i = 0; i < YAMUX_MAX_STREAMS + 1; i++) raw.send(header(DATA, SYN, 2 * i + 1, 0))
    // the library answers the 257th SYN with a reset and keeps the connection
    await eventually(async () => lastReset, `stream ${last} reset`)
    expect(muxer.streams).to.have.length(YAMUX_MAX_STREAMS)
    expect(muxer.status).to.equal('open')
    await muxer.close().catch(() => {})
  })

  it('leaves a muxer of another shape alone', () => {
    expect(limitFrameLength({}, 1)).to.equal(false)
  })
})
