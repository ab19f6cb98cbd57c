/**
 * The fault routes' schemas: bad input answers 400 InvalidParametersError in the usual
 * `{ error, message, hint }` shape, with the message written for the field, and reaches nothing.
 */
import { stubInterface } from 'sinon-ts'
import { createApiServer } from '../../src/api/index.ts'
import { expect } from '../utils/expect.ts'
import type { ApiPeer, FaultTarget } from '../../src/api/index.ts'

const ID = '12D3KooWJm8qLpkzXRcBqTHXHsDpUrnQdKHy8nfkvK4n3jLtPbwj'

describe('api: /v1/faults schemas', () => {
  const setup = (): { faults: ReturnType<typeof stubInterface<FaultTarget>>, app: ReturnType<typeof createApiServer> } => {
    const faults = stubInterface<FaultTarget>()
    faults.partitions.returns([])
    faults.heal.returns(0)
    faults.partition.resolves()
    return { faults, app: createApiServer({ peer: stubInterface<ApiPeer>(), faults }) }
  }

  for (const [payload, message] of [
    ['nope', 'expected a JSON body'],
    ['null', '"peers" must be a list of peer ids'],
    ['[]', '"peers" must be a list of peer ids'],
    ['{}', '"peers" must be a list of peer ids'],
    ['{"peers":"x"}', '"peers" must be a list of peer ids'],
    ['{"peers":[1]}', '"peers" must be a list of peer ids'],
    ['{"peers":[],"direction":"up"}', '"direction" must be "both", "inbound" or "outbound", got "up"'],
    ['{"peers":["x"]}', '"x" is not a peer id']
  ]) {
    it(`PUT /v1/faults/partition ${payload} answers 400: ${message}`, async () => {
      const { faults, app } = setup()
      const res = await app.inject({ method: 'PUT', url: '/v1/faults/partition', payload })
      expect(res.statusCode).to.equal(400)
      const body = res.json<Record<string, string>>()
      expect(Object.keys(body).sort()).to.deep.equal(['error', 'hint', 'message'])
      expect(body.error).to.equal('InvalidParametersError')
      expect(body.message).to.include(message)
      expect(faults.partition.called).to.equal(false)
    })
  }

  it('takes a JSON body whatever its content type, with or without a direction', async () => {
    const { faults, app } = setup()
    expect((await app.inject({ method: 'PUT', url: '/v1/faults/partition', payload: JSON.stringify({ peers: [ID] }), headers: { 'content-type': 'text/plain' } })).statusCode).to.equal(200)
    expect(faults.partition.firstCall.args[1]).to.deep.equal({ direction: undefined })
    expect((await app.inject({ method: 'PUT', url: '/v1/faults/partition', payload: JSON.stringify({ peers: [ID], direction: 'inbound' }), headers: { 'content-type': 'application/json' } })).statusCode).to.equal(200)
    expect(faults.partition.secondCall.args[1]).to.deep.equal({ direction: 'inbound' })
  })

  it('DELETE takes one comma-separated ?peers=, and refuses two', async () => {
    const { faults, app } = setup()
    expect((await app.inject({ method: 'DELETE', url: `/v1/faults/partition?peers=${ID},` })).statusCode).to.equal(200)
    expect(faults.heal.firstCall.args[0]?.map(String)).to.deep.equal([ID])
    const twice = await app.inject({ method: 'DELETE', url: `/v1/faults/partition?peers=${ID}&peers=${ID}` })
    expect(twice.statusCode).to.equal(400)
    expect(twice.json()).to.include({ error: 'InvalidParametersError' })
  })
})
