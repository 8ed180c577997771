// Minimal TAP output for the interop scripts: `ok N - name` / `not ok N - name`,
// `# diag` lines, the plan `1..N` at the end, and a non-zero exit on failure.

export class Tap {
  constructor () { this.n = 0; this.failed = 0 }
  ok (cond, name) {
    this.n++
    if (!cond) this.failed++
    console.log(`${cond ? 'ok' : 'not ok'} ${this.n} - ${name}`)
    return Boolean(cond)
  }
  is (got, want, name) {
    const pass = got === want
    this.ok(pass, name)
    if (!pass) this.diag(`  got: ${String(got)}\n  want: ${String(want)}`)
    return pass
  }
  diag (msg) {
    for (const line of String(msg).split('\n')) console.log(`# ${line}`)
  }
  fail (name, err) {
    this.ok(false, name)
    if (err != null) this.diag(err.stack ?? String(err))
  }
  done () {
    console.log(`1..${this.n}`)
    return this.failed === 0 && this.n > 0 ? 0 : 1
  }
}

// Runs main(tap, onCleanup) with an overall deadline (25 s, plus at most 5 s
// to stop the nodes registered with onCleanup: 30 s in all); always prints the
// plan and exits non-zero on any failure, a thrown error, or the deadline.
export function runTap (main, { timeoutMs = 25_000, cleanupMs = 5_000 } = {}) {
  const tap = new Tap()
  const cleanups = []
  const onCleanup = fn => cleanups.push(fn)
  let finishing = false
  const finish = async (extraFailure) => {
    if (finishing) return
    finishing = true
    if (extraFailure != null) tap.fail(extraFailure.name, extraFailure.err)
    // Stop every node, but never let a stuck stop keep the process alive.
    const hardExit = setTimeout(() => {
      tap.fail(`cleanup (stopping every node) finishes within ${cleanupMs} ms`)
      process.exit(tap.done())
    }, cleanupMs)
    for (const fn of cleanups.reverse()) {
      try { await fn() } catch (err) { tap.diag(`cleanup: ${err.message}`) }
    }
    clearTimeout(hardExit)
    process.exit(tap.done())
  }
  const timer = setTimeout(() => {
    finish({ name: `overall timeout of ${timeoutMs} ms`, err: null })
  }, timeoutMs)
  main(tap, onCleanup).then(
    () => { clearTimeout(timer); return finish() },
    err => { clearTimeout(timer); return finish({ name: 'unexpected error', err }) })
}
