import { expect } from 'chai'
import { accumulator, addProfile, layerOf, packageOf, summary } from './profile.ts'
import type { CallFrame, CpuProfile } from './profile.ts'

const frame = (functionName: string, url: string, lineNumber = 0): CallFrame => ({ functionName, url, lineNumber })

describe('bench: profile summariser', () => {
  it('puts frames into their layers by script', () => {
    expect(layerOf(frame('route', 'file:///w/node_modules/find-my-way/index.js'))).to.equal('HTTP (fastify, node:http, find-my-way, ajv)')
    expect(layerOf(frame('parserOnIncoming', 'node:_http_server'))).to.equal('HTTP (fastify, node:http, find-my-way, ajv)')
    expect(layerOf(frame('put', 'file:///w/dist/src/replication/coordinator.js'))).to.equal('coordinator/replication (src/replication)')
    expect(layerOf(frame('merge', 'file:///w/src/clock/dvv.ts'))).to.equal('clock/causality (src/clock)')
    expect(layerOf(frame('decode', 'file:///w/node_modules/protons-runtime/dist/src/decode.js'))).to.equal('protobuf (protons-runtime, uint8arraylist, src/protocol)')
    expect(layerOf(frame('encode', 'file:///w/dist/src/storage/record.js'))).to.equal('protobuf (protons-runtime, uint8arraylist, src/protocol)')
    expect(layerOf(frame('put', 'file:///w/dist/src/storage/level-engine.js'))).to.equal('storage (src/storage)')
    expect(layerOf(frame('encode', 'file:///w/src/storage/record.ts'))).to.equal('protobuf (protons-runtime, uint8arraylist, src/protocol)')
    expect(layerOf(frame('_put', 'file:///w/node_modules/classic-level/index.js'))).to.equal('LevelDB (classic-level)')
    expect(layerOf(frame('uint16BEDecode', 'file:///w/node_modules/@chainsafe/libp2p-noise/dist/src/encoder.js'))).to.equal('Noise (libp2p-noise, @noble, node crypto)')
    expect(layerOf(frame('x', 'file:///w/node_modules/@noble/hashes/sha2.js'))).to.equal('Noise (libp2p-noise, @noble, node crypto)')
    expect(layerOf(frame('wasm-function[18]', 'wasm://wasm/20831a12'))).to.equal('Noise (libp2p-noise, @noble, node crypto)')
    expect(layerOf(frame('onData', 'file:///w/node_modules/@chainsafe/libp2p-yamux/dist/src/muxer.js'))).to.equal('Yamux')
    expect(layerOf(frame('dial', 'file:///w/node_modules/@libp2p/tcp/dist/src/index.js'))).to.equal('libp2p other')
    expect(layerOf(frame('listOnTimeout', 'node:internal/timers'))).to.equal('timers')
    expect(layerOf(frame('(garbage collector)', ''))).to.equal('GC')
    expect(layerOf(frame('(idle)', ''))).to.equal('idle')
    expect(layerOf(frame('writeBuffer', ''))).to.equal(undefined)
  })

  it('names the package or p2pstore file of a frame label', () => {
    expect(packageOf('sendData (@libp2p/tcp/dist/src/socket-to-conn.js:68)')).to.equal('@libp2p/tcp')
    expect(packageOf('(anonymous) (dist/src/api/routes/kv.js:41)')).to.equal('p2pstore src/api/routes/kv.ts')
    expect(packageOf('writePayload (fastify/lib/reply.js:718)')).to.equal('fastify')
  })

  // root → handler (src/replication) → write (node:net) → writeBuffer (native); root → (idle); root → (garbage collector)
  const profile: CpuProfile = {
    startTime: 1_000,
    endTime: 9_000,
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6] },
      { id: 2, callFrame: frame('handle', 'file:///w/dist/src/replication/rpc/index.js'), children: [3] },
      { id: 3, callFrame: frame('write', 'node:net'), children: [4] },
      { id: 4, callFrame: frame('writeBuffer', '') },
      { id: 5, callFrame: frame('(idle)', '') },
      { id: 6, callFrame: frame('(garbage collector)', '') }
    ],
    // a sample stands for the delta to the next one: 2 ms writeBuffer, 1 ms handle, 4 ms idle, 1 ms GC
    samples: [4, 2, 5, 6, 4],
    timeDeltas: [0, 2_000, 1_000, 4_000, 1_000]
  }

  it('sums self time per layer; a native frame counts towards its caller', () => {
    const acc = accumulator()
    addProfile(acc, profile)
    const s = summary(acc)
    expect(s.layers['socket I/O (node:net, streams)']).to.equal(2)
    expect(s.layers['coordinator/replication (src/replication)']).to.equal(1)
    expect(s.layers.idle).to.equal(4)
    expect(s.layers.GC).to.equal(1)
    expect(s.totalMs).to.equal(8)
    expect(s.top[0]?.ms).to.equal(4)
    const write = s.top.find(t => t.fn.startsWith('writeBuffer'))
    expect(write?.fn).to.contain('⇐ handle')
    expect(s.origins.find(o => o.origin === 'p2pstore src/replication/rpc/index.ts')?.ms).to.equal(3)
  })

  it('counts only the samples inside the windows', () => {
    const acc = accumulator()
    // sample times: 1000, 3000, 4000, 8000, 9000 µs
    addProfile(acc, profile, [{ from: 2_500, to: 4_500 }])
    const s = summary(acc)
    expect(s.samples).to.equal(2)
    expect(s.layers['coordinator/replication (src/replication)']).to.equal(1)
    expect(s.layers.idle).to.equal(4)
    expect(s.layers['socket I/O (node:net, streams)']).to.equal(0)
  })
})
