import { defaultLogger } from '@libp2p/logger'
import { stubInterface } from 'sinon-ts'
import { replicaHandlers } from '../../../../src/replication/rpc/handlers/index.ts'
import { expect } from '../../../utils/expect.ts'
import { openEngine } from '../../../utils/replication.ts'
import type { ReplicaHandlersComponents } from '../../../../src/replication/rpc/handlers/index.ts'

describe('replication rpc: the dispatch map', () => {
  it('has one handler for every request type', async () => {
    const handlers = replicaHandlers({
      logger: defaultLogger(),
      engine: await openEngine(),
      coordinator: stubInterface<ReplicaHandlersComponents['coordinator']>(),
      antiEntropy: stubInterface<ReplicaHandlersComponents['antiEntropy']>()
    })
    expect(Object.keys(handlers).sort()).to.deep.equal(['coordinate', 'digests', 'purge', 'read', 'scan', 'store', 'summary'])
  })
})
