/** Sample values of every daemon setting (SETTINGS in src/config.ts), for table-driven specs. */
import type { DaemonConfig } from '../../src/config.ts'

/**
 * Two valid values of every setting, neither its default (a config.json value and a flag value).
 * Typed by DaemonConfig's keys: a new setting without samples does not compile.
 */
export const SAMPLES: { [K in keyof DaemonConfig]-?: [NonNullable<DaemonConfig[K]>, NonNullable<DaemonConfig[K]>] } = {
  listen: [['/ip4/127.0.0.1/tcp/5001'], ['/ip4/127.0.0.1/tcp/6001', '/ip6/::1/tcp/6001']],
  announce: [['/dns4/a.example.org/tcp/4700'], []],
  bootstrap: [['/ip4/192.0.2.1/tcp/4700'], ['/ip4/192.0.2.2/tcp/4700']],
  bootstrapFiles: [['/etc/p2pstore/peers'], ['peers-a', 'peers-b']],
  swarmKeyFile: ['/etc/p2pstore/swarm.key', 'swarm.key'],
  open: [true, false],
  apiHost: ['0.0.0.0', '::1'],
  apiPort: [5000, 0],
  allow: [['/ip4/10.0.0.0/ipcidr/8'], []],
  maxConnections: [6, 128],
  maxConnectionsPerIp: [16, 1],
  maxConnectionsPerRange: [64, 4],
  inboundConnectionRate: [20, 1],
  maxPendingConnections: [100, 2],
  inboundUpgradeTimeout: [30_000, 500],
  streamWriteBuffer: [8 * 1024 * 1024, 1024],
  slowReaderTimeout: [30_000, 1],
  penaltyHalfLife: [60_000, 1],
  banThreshold: [50, 1000],
  banDuration: [3_600_000, 1],
  frameMemoryPerPeer: [100 * 1024 * 1024, 70 * 1024 * 1024],
  frameMemoryTotal: [400 * 1024 * 1024, 1024 * 1024 * 1024],
  dhtRefreshInterval: [60_000, 1],
  n: [5, 4],
  r: [1, 3],
  w: [3, 1],
  sync: [false, true],
  syncReads: [false, true],
  profile: ['testnet', 'default'],
  encryptionKeyFile: ['/mnt/keys/kek', 'kek'],
  encryptionRotateInterval: [86_400_000, 1],
  capacity: [2, 0.5],
  zone: ['rack-1', 'b']
}

/** Values every setting must refuse: wrong types and values out of its range. */
export const BAD: { [K in keyof DaemonConfig]-?: unknown[] } = {
  listen: ['/ip4/1.2.3.4/tcp/1', [1], {}],
  announce: ['/ip4/1.2.3.4/tcp/1', [true]],
  bootstrap: [7, [null]],
  bootstrapFiles: ['peers', [1]],
  swarmKeyFile: ['', 5, ['swarm.key']],
  open: ['yes', 1],
  apiHost: ['', 127],
  apiPort: [70000, -1, 1.5, '4701', 65536],
  allow: ['/ip4/10.0.0.0/ipcidr/8', [{}]],
  maxConnections: [0, 1, 1.5, '64', 10_001],
  maxConnectionsPerIp: [0, -1, 1.5, '8'],
  maxConnectionsPerRange: [0, -1, 2.5, '32'],
  inboundConnectionRate: [0, -1, 0.5, '5'],
  maxPendingConnections: [0, -3, 1.5, '10'],
  inboundUpgradeTimeout: [0, -1, 0.5, '10s'],
  streamWriteBuffer: [0, 1023, 1.5, '4MiB'],
  slowReaderTimeout: [0, -1, 0.5, '10s'],
  penaltyHalfLife: [0, -1, 1.5, '10min'],
  banThreshold: [0, -5, 2.5, '100'],
  banDuration: [0, -1, 0.5, '10m'],
  frameMemoryPerPeer: [0, 1024 * 1024, 1.5, '80MiB'],
  frameMemoryTotal: [0, 64 * 1024 * 1024, 2.5, '320MiB'],
  dhtRefreshInterval: [0, -5, 1.5, '300000', 2 ** 60],
  n: [0, 17, 2.5, '3'],
  r: [0, 17, 1.5, '2'],
  w: [0, 17, 1.5, '2'],
  sync: ['false', 0],
  syncReads: ['no', 1],
  profile: ['fast', 1, ''],
  encryptionKeyFile: ['', 1],
  encryptionRotateInterval: [0, -1, 0.5, '7d'],
  capacity: [0, -1, 65, '2'],
  zone: ['', 3, 'x'.repeat(65)]
}
