// Xen Orchestra's connector (npm xen-api) against a pool, for test_pool.py: connect to the URL
// given (a slave's), follow HOST_IS_SLAVE as XO does, report where it ended and the pool's
// master. Usage: node xo_pool.mjs URL USER PASSWORD. One JSON object per line on stdout.
import { createClient } from 'xen-api'

const [url, user, password] = process.argv.slice(2)
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
setTimeout(() => { say({ step: 'error', message: 'timed out' }); process.exit(1) }, 60e3).unref()

const xapi = createClient({ url, auth: { user, password }, allowUnauthorized: true })
xapi.on('eventFetchingError', error => say({ step: 'warning', message: String(error) }))
try {
  await xapi.connect()
  await xapi.objectsFetched
  const master = xapi.getObject(xapi.pool.master)
  say({ step: 'ready', hostname: xapi._url.hostname, master: xapi.pool.master,
        masterAddress: master.address })
  await xapi.disconnect()
  process.exit(0)
} catch (error) {
  say({ step: 'error', message: String(error), code: error.code, params: error.params })
  process.exit(1)
}
