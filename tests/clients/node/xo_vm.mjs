// Starts VMs the way Xen Orchestra does, for test_xo_vm.py.
// Usage: node xo_vm.mjs URL USER PASSWORD TRANSPORT(auto|xml-rpc) SYNC_VM_REF ASYNC_VM_REF
// Both VMs exist and are Halted (created by the Python test through the official SDK).
// SYNC_VM is started with VM.start(ref, false, false), ASYNC_VM with Async.VM.start followed
// through task events (callAsync), as xo-server's startVm does; each must then show Running in
// the connector's object cache, which only event.from updates. Starting a running VM again must
// fail through the task with VM_BAD_POWER_STATE. Last, SYNC_VM goes through Async.VM.start_on
// the pool master, paused, then VM.unpause. One JSON object per line on stdout; after each step
// it waits for a line on stdin: the Python test checks the step through the SDK before the
// script changes the VMs again.
import { createInterface } from 'node:readline'
import { Agent } from 'undici'
import { createClient } from 'xen-api'

const [url, user, password, transport, syncRef, asyncRef] = process.argv.slice(2)
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
// a step the test checks: said, then held until the test says go on
const step = async obj => {
  say(obj)
  if ((await lines.next()).done) fail('stdin closed')
}
const fail = (msg, extra) => {
  say({ step: 'error', message: String(msg), ...extra })
  process.exit(1)
}
setTimeout(() => fail('timed out'), 60e3).unref()

const paths = new Set()
const dispatch = Agent.prototype.dispatch
Agent.prototype.dispatch = function (opts, handler) {
  paths.add(opts.path)
  return dispatch.call(this, opts, handler)
}

const xapi = createClient({ url, auth: { user, password }, allowUnauthorized: true, transport })
xapi.on('eventFetchingError', error => say({ step: 'warning', message: String(error) }))

// resolves with the cached record once the cache (fed by event.from only) shows `state`
const cachedState = (ref, state) =>
  new Promise(resolve => {
    const check = () => {
      const o = xapi.getObjectByRef(ref, undefined)
      if (o !== undefined && o.power_state === state) {
        xapi.objects.removeListener('update', check)
        resolve(o)
      }
    }
    xapi.objects.on('update', check)
    check()
  })

const view = vm => ({
  ref: vm.$ref,
  id: vm.$id,
  power_state: vm.power_state,
  domid: vm.domid,
  resident_on: vm.resident_on,
})

try {
  await xapi.connect()
  await xapi.objectsFetched
  const before = [syncRef, asyncRef].map(ref => xapi.getObjectByRef(ref, undefined))
  await step({ step: 'ready', vms: before.map(vm => (vm === undefined ? null : view(vm))) })

  const syncResult = await xapi.call('VM.start', syncRef, false, false)
  await step({ step: 'sync', result: syncResult, vm: view(await cachedState(syncRef, 'Running')) })

  const asyncResult = await xapi.callAsync('VM.start', asyncRef, false, false)
  await step({ step: 'async', result: asyncResult, vm: view(await cachedState(asyncRef, 'Running')) })

  let again
  try {
    again = { result: await xapi.callAsync('VM.start', asyncRef, false, false) }
  } catch (error) {
    again = { code: error.code, params: error.params, fromTask: error.task !== undefined }
  }
  await step({ step: 'again', ...again })

  await xapi.call('VM.hard_shutdown', syncRef)
  await xapi.callAsync('VM.clean_shutdown', asyncRef)
  const halted = await Promise.all([syncRef, asyncRef].map(ref => cachedState(ref, 'Halted')))
  await step({ step: 'halted', vms: halted.map(view) })

  // "start on this host", paused (XO's start_on path), then unpause
  const host = xapi.pool.master
  await xapi.callAsync('VM.start_on', syncRef, host, true, false)
  const paused = await cachedState(syncRef, 'Paused')
  await step({ step: 'paused', host, vm: view(paused) })
  await xapi.call('VM.unpause', syncRef)
  const unpaused = await cachedState(syncRef, 'Running')
  await xapi.call('VM.hard_shutdown', syncRef)
  await step({ step: 'unpaused', vm: view(unpaused), final: view(await cachedState(syncRef, 'Halted')) })
  await xapi.disconnect()
  say({ step: 'done', paths: [...paths].sort() })
  process.exit(0)
} catch (error) {
  fail(error?.stack ?? error, { code: error?.code, params: error?.params })
}
