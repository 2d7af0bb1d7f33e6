/**
 * Cost of `audit proxy` in front of Ollama: `node --import tsx bench/proxy.ts` prints a markdown
 * section. The fake Ollama server (test/fakes/ollama.ts) and the built proxy each run in their own
 * process; this process is 100 keep-alive clients sending non-streamed /api/generate requests, the
 * same ones straight to the fake and through the proxy, in alternating rounds.
 *  - Latency: each client sends a request every PACE_MS (default 1000: ~100 requests/s in all, an LLM's
 *    clients being slow to ask again), so no path is saturated and the difference is what the proxy adds.
 *    The three paths are timed in the same seconds (each client asks each path once per period, in
 *    turn), so a burst of load from elsewhere on a shared machine falls on all three alike.
 *  - Throughput: the clients send back to back for SECONDS (default 5); requests/s of each path, and
 *    of a bare pass-through proxy (serveBare), to tell what proxying costs from what auditing costs.
 * SECONDS=n, PACE_MS=n, CLIENTS=n, ROUNDS=n tune it.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {Agent, request} from 'node:http'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLIENTS = Number(process.env.CLIENTS ?? 100)
const SECONDS = Number(process.env.SECONDS ?? 5)
const PACE_MS = Number(process.env.PACE_MS ?? 1000)
const ROUNDS = Number(process.env.ROUNDS ?? 2)
const BODY = JSON.stringify({model: 'llama3.1:8b', prompt: 'Summarise the audit trail of yesterday in one sentence.', stream: false})

/** Child mode: the fake Ollama server, printing its URL. */
async function serveFake(): Promise<void> {
  const {startFakeOllama} = await import('../test/fakes/ollama.js')
  const fake = await startFakeOllama()
  fake.defaultScript = {reply: 'Yesterday 12 users made 340 requests; 3 failed logins, no anomalies.'}
  // The fake keeps every request for tests to read; a benchmark would only grow it.
  setInterval(() => {
    fake.requests.length = 0
  }, 500)
  process.stdout.write(`${fake.url}\n`)
}

/**
 * Child mode: the least a node:http proxy does (read the body, forward it, pipe the answer back) and
 * nothing else: the baseline that tells the cost of proxying on this machine from the cost of auditing.
 */
async function serveBare(upstream: string): Promise<void> {
  const {createServer} = await import('node:http')
  const target = new URL(upstream)
  const upstreamAgent = new Agent({keepAlive: true})
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const out = request(
        {
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          agent: upstreamAgent,
          headers: {'content-type': 'application/json', 'content-length': body.length},
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        },
      )
      out.on('error', () => res.destroy())
      out.end(body)
    })
  })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on 127.0.0.1:${(server.address() as {port: number}).port},\n`))
}

/** Starts a process and resolves with the first line matching `pattern` on its stdout. */
function startChild(
  args: string[],
  pattern: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{child: ChildProcess; match: RegExpExecArray}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {env, stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const match = pattern.exec(out)
      if (match) resolve({child, match})
    })
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)))
  })
}

const agent = new Agent({keepAlive: true, maxSockets: CLIENTS})

/** One request; a kept-alive connection the server closed as it was reused is retried, as any client would. */
function once(base: string, retry = true): Promise<number> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/generate`,
      {method: 'POST', agent, headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(BODY)}},
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d
        })
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`${base}: status ${res.statusCode} ${text}`)),
        )
      },
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && error.code === 'ECONNRESET') once(base, false).then(() => resolve(performance.now() - start), reject)
      else reject(error)
    })
    req.end(BODY)
  })
}

/** CLIENTS clients sending back to back for SECONDS: latencies in ms and requests/s. */
async function load(base: string): Promise<{latencies: number[]; perSecond: number}> {
  const latencies: number[] = []
  const end = performance.now() + SECONDS * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({length: CLIENTS}, async () => {
      while (performance.now() < end) latencies.push(await once(base))
    }),
  )
  return {latencies, perSecond: latencies.length / ((performance.now() - started) / 1000)}
}

/** CPU time (user + system, every thread) a process has used so far, in ms; Linux /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

/**
 * Back-to-back load on one path, with the CPU each process spent per request: on a shared machine
 * the requests/s move with everyone else's load, the CPU a request costs hardly does, and it is
 * what bounds throughput when the clients, the fake and the proxy share the cores.
 */
async function saturate(
  base: string,
  proxyPid?: number,
): Promise<{perSecond: number; cpu: {fake: number; proxy: number; clients: number}}> {
  const before = {fake: cpuMs(fakePid), proxy: proxyPid ? cpuMs(proxyPid) : 0, clients: process.cpuUsage()}
  const {latencies, perSecond} = await load(base)
  const clients = process.cpuUsage(before.clients)
  const n = latencies.length
  return {
    perSecond,
    cpu: {
      fake: (cpuMs(fakePid) - before.fake) / n,
      proxy: proxyPid ? (cpuMs(proxyPid) - before.proxy) / n : 0,
      clients: (clients.user + clients.system) / 1000 / n,
    },
  }
}

let fakePid = 0

/** Paced clients asking every path once per PACE_MS, in turns, for SECONDS. Latencies in ms, per path. */
async function pacedTogether(bases: string[]): Promise<number[][]> {
  const latencies = bases.map(() => [] as number[])
  const end = performance.now() + SECONDS * 1000
  await Promise.all(
    Array.from({length: CLIENTS}, async (_, i) => {
      await sleep((PACE_MS * i) / CLIENTS)
      for (let turn = i; performance.now() < end; turn++) {
        const at = performance.now()
        for (let k = 0; k < bases.length; k++) {
          const path = (turn + k) % bases.length
          latencies[path].push(await once(bases[path]))
        }
        await sleep(Math.max(0, PACE_MS - (performance.now() - at)))
      }
    }),
  )
  return latencies
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function main(): Promise<void> {
  const fake = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url)], /^(http:\S+)\n/m, {...process.env, BENCH_FAKE: '1'})
  const upstream = fake.match[1]
  fakePid = fake.child.pid!
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-bench-proxy-'))
  const proxy = await startChild(
    [join(ROOT, 'bin', 'run.js'), 'proxy', '--listen', '127.0.0.1:0', '--upstream', upstream, '--dir', join(dir, 'logs')],
    /listening on (\S+),/,
  )
  const proxied = `http://${proxy.match[1]}`
  const bareProxy = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url)], /listening on (\S+),/, {
    ...process.env,
    BENCH_BARE: upstream,
  })
  const bare = `http://${bareProxy.match[1]}`
  try {
    // Warm-up: connections, JIT, the writer's first file.
    await Promise.all(Array.from({length: 200}, () => once(upstream)))
    await Promise.all(Array.from({length: 200}, () => once(proxied)))
    await Promise.all(Array.from({length: 200}, () => once(bare)))

    const lat = {direct: [] as number[], proxy: [] as number[], bare: [] as number[]}
    const rate = {direct: [] as number[], proxy: [] as number[], bare: [] as number[]}
    type Cpu = {fake: number; proxy: number; clients: number}
    const cpu = {direct: [] as Cpu[], proxy: [] as Cpu[], bare: [] as Cpu[]}
    for (let round = 0; round < ROUNDS; round++) {
      const [direct, viaProxy, viaBare] = await pacedTogether([upstream, proxied, bare])
      lat.direct.push(...direct)
      lat.proxy.push(...viaProxy)
      lat.bare.push(...viaBare)
      for (const [path, base, pid] of [
        ['direct', upstream, undefined],
        ['proxy', proxied, proxy.child.pid],
        ['bare', bare, bareProxy.child.pid],
      ] as const) {
        const run = await saturate(base, pid)
        rate[path].push(run.perSecond)
        cpu[path].push(run.cpu)
      }
    }
    const d = lat.direct.sort((a, b) => a - b)
    const p = lat.proxy.sort((a, b) => a - b)
    const b = lat.bare.sort((x, y) => x - y)
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
    const [directRate, proxyRate, bareRate] = [mean(rate.direct), mean(rate.proxy), mean(rate.bare)]
    const f = (ms: number) => `${ms.toFixed(2)} ms`
    const meanCpu = (runs: Cpu[]) => ({
      fake: mean(runs.map((r) => r.fake)),
      proxy: mean(runs.map((r) => r.proxy)),
      clients: mean(runs.map((r) => r.clients)),
    })
    const [cpuDirect, cpuProxy, cpuBare] = [meanCpu(cpu.direct), meanCpu(cpu.proxy), meanCpu(cpu.bare)]
    const c = (ms: number) => ms.toFixed(3)
    // With every process busy, the cores are shared out by CPU per request: what the direct path's
    // processes use, over what they use plus the forwarder's, is the most a forwarder can keep.
    const ceiling = (forwarder: number) => (100 * (cpuDirect.fake + cpuDirect.clients)) / (cpuDirect.fake + cpuDirect.clients + forwarder)
    const [load1, load5] = readFileSync('/proc/loadavg', 'utf8').split(' ')
    const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown CPU'
    const lines = [
      '### audit proxy (bench/proxy.ts)',
      '',
      `${cpus().length} CPUs (nproc), ${model}, Node ${process.version}; fake Ollama, proxy and ${CLIENTS} keep-alive clients on loopback, each in its own process; non-streamed /api/generate; ${ROUNDS} rounds of ${SECONDS} s per case. Every proxied request writes api.request and api.response (fsync interval).`,
      '',
      `| ${CLIENTS} clients, each asking each path once per ${PACE_MS} ms, in turns | p50 | p99 | requests |`,
      '| --- | --- | --- | --- |',
      `| direct | ${f(percentile(d, 50))} | ${f(percentile(d, 99))} | ${d.length} |`,
      `| through the proxy | ${f(percentile(p, 50))} | ${f(percentile(p, 99))} | ${p.length} |`,
      `| added by the proxy | ${f(percentile(p, 50) - percentile(d, 50))} | ${f(percentile(p, 99) - percentile(d, 99))} | |`,
      `| bare pass-through proxy (no audit), for comparison | ${f(percentile(b, 50))} | ${f(percentile(b, 99))} | ${b.length} |`,
      '',
      `| CPU per request, back to back (ms, all threads) | fake Ollama | forwarder | clients |`,
      '| --- | --- | --- | --- |',
      `| direct | ${c(cpuDirect.fake)} | | ${c(cpuDirect.clients)} |`,
      `| through the proxy | ${c(cpuProxy.fake)} | ${c(cpuProxy.proxy)} | ${c(cpuProxy.clients)} |`,
      `| bare pass-through proxy | ${c(cpuBare.fake)} | ${c(cpuBare.proxy)} | ${c(cpuBare.clients)} |`,
      '',
      `Load average during the run: ${load1} (1 min), ${load5} (5 min) on ${cpus().length} CPUs shared with other work. Were the cores the limit and these three processes alone on them, a forwarder costing F ms per request would keep at most (fake + clients) / (fake + clients + F) of direct: ${ceiling(cpuProxy.proxy).toFixed(0)}% for the audit proxy, ${ceiling(cpuBare.proxy).toFixed(0)}% for the bare one; 80% would need one under ${c((cpuDirect.fake + cpuDirect.clients) / 4)} ms per request.`,
      '',
      `Throughput, ${CLIENTS} clients back to back: direct ${directRate.toFixed(0)} requests/s, through the proxy ${proxyRate.toFixed(0)} requests/s (${((100 * proxyRate) / directRate).toFixed(0)}% of direct); a bare node:http pass-through proxy that audits nothing: ${bareRate.toFixed(0)} requests/s (${((100 * bareRate) / directRate).toFixed(0)}% of direct), so auditing keeps ${((100 * proxyRate) / bareRate).toFixed(0)}% of what proxying alone allows here.`,
    ]
    console.log(lines.join('\n'))
  } finally {
    agent.destroy()
    proxy.child.kill('SIGTERM')
    await new Promise((resolve) => proxy.child.once('exit', resolve))
    bareProxy.child.kill('SIGTERM')
    fake.child.kill('SIGTERM')
    rmSync(dir, {recursive: true, force: true})
  }
}

if (process.env.BENCH_FAKE) await serveFake()
else if (process.env.BENCH_BARE) await serveBare(process.env.BENCH_BARE)
else await main()
