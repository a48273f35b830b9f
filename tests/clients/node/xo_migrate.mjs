// Migrates a running VM the way Xen Orchestra does (Async VM.pool_migrate followed through its
// task), for test_pool_migrate.py, and reports what its object cache (fed by event.from only)
// saw of the VM meanwhile. Usage: node xo_migrate.mjs URL USER PASSWORD VM_REF HOST_REF
// URL may be a slave's: the connector follows HOST_IS_SLAVE. One JSON object per line.
import { createClient } from 'xen-api'

const [url, user, password, vmRef, hostRef] = process.argv.slice(2)
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const fail = (msg, extra) => {
  say({ step: 'error', message: String(msg), ...extra })
  process.exit(1)
}
setTimeout(() => fail('timed out'), 60e3).unref()

const xapi = createClient({ url, auth: { user, password }, allowUnauthorized: true })
xapi.on('eventFetchingError', error => say({ step: 'warning', message: String(error) }))

const view = vm => ({
  power_state: vm.power_state,
  resident_on: vm.resident_on,
  domid: vm.domid,
  current_operations: Object.values(vm.current_operations),
})

try {
  await xapi.connect()
  await xapi.objectsFetched
  const seen = []
  const settled = new Promise(resolve => {
    const check = () => {
      const vm = xapi.getObjectByRef(vmRef, undefined)
      if (vm === undefined) return
      const v = view(vm)
      const last = seen[seen.length - 1]
      if (last === undefined || JSON.stringify(last) !== JSON.stringify(v)) seen.push(v)
      if (v.resident_on === hostRef && v.current_operations.length === 0) resolve()
    }
    xapi.objects.on('update', check)
    check()
  })
  say({ step: 'ready', hostname: xapi._url.hostname })
  await xapi.callAsync('VM.pool_migrate', vmRef, hostRef, { live: 'true' })
  await settled
  say({ step: 'done', seen })
  await xapi.disconnect()
  process.exit(0)
} catch (error) {
  fail(error, { code: error.code, params: error.params })
}
