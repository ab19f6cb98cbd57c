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
  apiRequestTimeout: [60_000, 20_000],
  apiHeadersTimeout: [5_000, 1_000],
  apiBodyLimit: [65_536, 1],
  apiMaxConnections: [2_000, 500],
  apiMaxConnectionsPerIp: [100, 8],
  apiAuthFailureLimit: [50, 1_000],
  allow: [['/ip4/10.0.0.0/ipcidr/8'], []],
  maxConnections: [6, 128],
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
  apiRequestTimeout: [0, 99, 1.5, '30s', 3_600_001],
  apiHeadersTimeout: [0, 99, 2.5, '10000'],
  apiBodyLimit: [0, 1024 * 1024 + 1, 1.5, '1MiB'],
  apiMaxConnections: [0, 65_536, 1.5, '1024'],
  apiMaxConnectionsPerIp: [0, 65_536, 0.5, '256'],
  apiAuthFailureLimit: [0, -1, 1.5, '200', 1_000_001],
  allow: ['/ip4/10.0.0.0/ipcidr/8', [{}]],
  maxConnections: [0, 1, 1.5, '64', 10_001],
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
