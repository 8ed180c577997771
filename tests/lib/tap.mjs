// tap.mjs: minimal TAP output for the node-driven tests (automake's tap-driver counts each point).
import assert from 'node:assert/strict';

let n = 0;
let failed = 0;

// An exception nobody caught (a rejected top-level await: a daemon that did not start, a timeout)
// would otherwise reach only stderr, which the TAP log does not hold: say it in the log as TAP does.
function bailOut(e) {
  console.log(`Bail out! ${String((e && e.message) || e).split('\n')[0]}`);
  for (const line of String(e && e.stack ? e.stack : e).split('\n').slice(0, 20)) console.log(`# ${line}`);
  process.exit(1);
}
process.on('uncaughtException', bailOut);
process.on('unhandledRejection', bailOut);

export function ok(cond, name) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  return cond;
}

// Runs fn (sync or async); passes when it does not throw. Prints the error as a diagnostic.
export async function test(name, fn) {
  try {
    await fn();
    return ok(true, name);
  } catch (e) {
    ok(false, name);
    for (const line of String(e && e.stack ? e.stack : e).split('\n').slice(0, 12)) console.log(`# ${line}`);
    return false;
  }
}

export function diag(msg) {
  for (const line of String(msg).split('\n')) console.log(`# ${line}`);
}

export function done() {
  console.log(`1..${n}`);
  process.exitCode = failed ? 1 : 0;
}

export { assert };
