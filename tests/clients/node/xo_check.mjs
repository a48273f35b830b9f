// Drives Xen Orchestra's connector (npm xen-api) against our server, for test_xo_client.py.
// Usage: node xo_check.mjs URL USER PASSWORD TRANSPORT(auto|xml-rpc)
// Protocol on stdout, one JSON object per line: {"step": ...}. The Python test answers on
// stdin with the name of the network it created once we report "ready".
import { createInterface } from 'node:readline'
import { Agent } from 'undici'
import { createClient } from 'xen-api'

const [url, user, password, transport] = process.argv.slice(2)
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const fail = (msg, extra) => {
  say({ step: 'error', message: String(msg), ...extra })
  process.exit(1)
}
setTimeout(() => fail('timed out'), 60e3).unref()

// record the HTTP paths the connector posts to (which transport it really uses)
const paths = new Set()
const dispatch = Agent.prototype.dispatch
Agent.prototype.dispatch = function (opts, handler) {
  paths.add(opts.path)
  return dispatch.call(this, opts, handler)
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const nextLine = async () => (await lines.next()).value

const xapi = createClient({ url, auth: { user, password }, allowUnauthorized: true, transport })
xapi.on('eventFetchingError', error => say({ step: 'warning', message: String(error) }))

try {
  await xapi.connect()
  await xapi.objectsFetched
  const all = Object.values(xapi.objects.all)
  const types = new Set(all.map(o => o.$type))
  const pool = xapi.pool
  say({
    step: 'ready',
    types: [...types].sort(),
    nTypes: xapi._types.length,
    pool: pool.$ref,
    poolMaster: pool.master,
    otherConfig: pool.other_config,
    objects: all.length,
  })

  // the Python client creates a network: it must appear through event.from
  const name = await nextLine()
  const net = await new Promise(resolve => {
    const look = () => Object.values(xapi.objects.all).find(o => o.$type === 'network' && o.name_label === name)
    const found = look()
    if (found !== undefined) return resolve(found)
    xapi.objects.on('add', () => {
      const o = look()
      if (o !== undefined) resolve(o)
    })
  })
  say({ step: 'seen', ref: net.$ref, uuid: net.uuid, id: net.$id })

  // a synchronous call, then an Async one followed through task events
  await xapi.call('network.set_name_label', net.$ref, name + '-renamed')
  const renamed = await new Promise(resolve => {
    const check = () => {
      const o = xapi.getObjectByRef(net.$ref, undefined)
      if (o !== undefined && o.name_label === name + '-renamed') resolve(o)
    }
    check()
    xapi.objects.on('update', check)
  })
  const taskResult = await xapi.callAsync('network.create', {
    name_label: name + '-async', name_description: '', MTU: 1500, other_config: {}, bridge: 'xo0', managed: true, tags: [],
  })
  say({ step: 'called', name_label: renamed.name_label, asyncResult: taskResult })
  await xapi.call('network.destroy', taskResult)
  await xapi.disconnect()
  say({ step: 'done', paths: [...paths].sort() })
  process.exit(0)
} catch (error) {
  fail(error?.stack ?? error, { code: error?.code, params: error?.params })
}
