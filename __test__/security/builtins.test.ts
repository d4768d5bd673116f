// Limits inside built-ins. QuickJS polls its interrupt handler between
// bytecodes; the native loops of many built-ins never did, so a script
// stuck in one (a huge array-like, a skipping iterator, a quadratic string
// search) ran on past its time limit and past close(), and the watchdog had
// to abandon its thread. The project's QuickJS patch 0003 polls in those
// loops: the time limit and close() stop them within milliseconds, on the
// same thread, and no thread is abandoned.
import { afterAll, describe, expect, it } from 'vitest'
import { ScriptHarness } from '../../index.js'
import { expectCleanExit, inChild, timed } from './probe'

// A chain of 30,000 objects, built in about 20 ms: one lookup of a missing
// key walks all of it (about 0.3 ms), so without a charge per step the
// 10,000 lookups between two polls would take seconds.
const CHAIN = 'let o = {}; for (let i = 0; i < 3e4; i++) o = Object.create(o)'

// Each never ends on its own (or not for minutes) and holds its memory flat.
export const STUCK: Array<[string, string]> = [
  ['reverse', 'Array.prototype.reverse.call({ length: 2 ** 53 - 1 })'],
  ['join', 'Array.prototype.join.call({ length: 2 ** 53 - 1 })'],
  ['join of a holey array', "Array(2 ** 32 - 1).join('')"],
  ['toLocaleString', 'Array.prototype.toLocaleString.call({ length: 2 ** 53 - 1 })'],
  ['copyWithin', 'Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 0, 1)'],
  ['fill', 'Array.prototype.fill.call({ length: 2 ** 53 - 1, __proto__: new Uint8Array(0) }, 0)'],
  ['splice', 'Array.prototype.splice.call({ length: 2 ** 53 - 1 }, 0, 1)'],
  ['shift', 'Array.prototype.shift.call({ length: 2 ** 53 - 1 })'],
  ['unshift', 'Array.prototype.unshift.call({ length: 2 ** 53 - 2 }, 1)'],
  ['slice', 'Array.prototype.slice.call({ length: 2 ** 32 - 1 })'],
  ['concat', '[].concat({ length: 2 ** 53 - 1, [Symbol.isConcatSpreadable]: true })'],
  ['flat', 'Array.prototype.flat.call({ length: 2 ** 53 - 1 })'],
  ['sort of holes', 'Array.prototype.sort.call({ length: 2 ** 53 - 1 })'],
  ['iterator drop', 'Array.prototype.keys.call({ length: 2 ** 53 - 1 }).drop(2 ** 53 - 2).next()'],
  ['iterator includes', 'Array.prototype.keys.call({ length: 2 ** 53 - 1 }).includes(-1)'],
  ['iterator join', "Array.prototype.values.call({ length: 2 ** 53 - 1 }).join('')"],
  ['Set method over an iterator', 'new Set([1]).isDisjointFrom({ size: 0, has() {}, keys: () => Array.prototype.values.call({ length: 2 ** 53 - 1 }) })'],
  ['String#indexOf, quadratic', "'a'.repeat(1e6).indexOf('a'.repeat(5e5) + 'b')"],
  ['String#lastIndexOf, quadratic', "'a'.repeat(1e6).lastIndexOf('a'.repeat(5e5) + 'b')"],
  ['String#split, quadratic', "'a'.repeat(1e6).split('a'.repeat(5e5) + 'b')"],
  ['JSON.stringify of holes', 'JSON.stringify(Array(2 ** 32 - 1))'],
  // QuickJS patch 0005: long native work in one call, or called in a loop.
  ['typed array join', 'new Uint8Array(3e7).join()'],
  ['a loop of typed array fills', 'const a = new Uint8Array(3e7); for (;;) a.fill(1)'],
  ['a loop of typed array searches', 'const a = new Uint8Array(3e7); for (;;) a.indexOf(2)'],
  ['a loop of typed array reversals', 'const a = new Float64Array(4e6); for (;;) a.reverse()'],
  // QuickJS patch 0006: each step along a prototype chain counts, and the
  // RegExp parser polls.
  ['lookups along a long prototype chain', `${CHAIN}; for (;;) o.x`],
  ['computed lookups along a long prototype chain', `${CHAIN}; const k = 'x'; for (;;) o[k]`],
  ['`in` along a long prototype chain', `${CHAIN}; for (;;) 'x' in o`],
  ['instanceof along a long prototype chain', `${CHAIN}; function F() {}; for (;;) o instanceof F`],
  ['assignments along a long prototype chain', `${CHAIN}; for (;;) Object.create(o).x = 1`],
  ['setPrototypeOf onto a long prototype chain', `${CHAIN}; for (;;) Object.setPrototypeOf({}, o)`],
  ['RegExp compilation of many alternatives', "new RegExp('(?:' + 'a|'.repeat(1e6) + 'a)')"],
  ['RegExp compilation of a long lookbehind', "new RegExp('(?<=' + 'a'.repeat(1e6) + ')')"],
  // QuickJS patch 0007: allocation and linear scans count; found by a red-team pass.
  ['a loop of numeric indexOf', 'const a = Array(1e6).fill(1); for (;;) a.indexOf(2)'],
  ['a loop of numeric includes', 'const a = Array(1e6).fill(1); for (;;) a.includes(2)'],
  ['a loop of Map lookups of a long string', "const s = 'a'.repeat(1e6); const m = new Map(); for (;;) m.get(s)"],
  ['a loop of array spreads', 'const a = Array(1e5).fill(1); for (;;) [...a]'],
  ['a loop of Math.max(...a)', 'const a = Array(65535).fill(1); for (;;) Math.max(...a)'],
  ['a loop of encodeURIComponent', "const s = 'a'.repeat(1e6); for (;;) encodeURIComponent(s)"],
  ['a loop of padEnd', "const s = 'a'.repeat(1e6); for (;;) s.padEnd(2e6)"],
  ['a RegExp back-reference over a long string', "const s = 'a'.repeat(1e6); /^(a*)\\1b/i.test(s)"],
  // QuickJS patch 0008: the watchdog asks the running JS to poll at its deadline,
  // so loops of calls that neither allocate nor are charged stop after one call.
  ['a loop of fast-array reversals', 'const a = Array(1e6).fill(0); for (;;) a.reverse()'],
  ['a loop of fast-array copyWithin', 'const a = Array(1e6).fill(0); for (;;) a.copyWithin(0, 1)'],
  ['a loop of shift and push', 'const a = Array(1e6).fill(0); for (;;) { a.shift(); a.push(0) }'],
  ['a loop of typed-array copies', 'const a = new Uint8Array(3e7), b = new Uint8Array(3e7); for (;;) a.set(b)'],
  ['a loop of Number() over spaces', "const s = ' '.repeat(5e6); for (;;) Number(s)"],
  ['a loop of trim() over spaces', "const s = ' '.repeat(5e6); for (;;) s.trim()"],
  ['a loop of JSON.parse over spaces', "const s = ' '.repeat(5e6) + '1'; for (;;) JSON.parse(s)"],
  ['a loop of long string comparisons', "const s = 'a'.repeat(5e6), t = 'a'.repeat(5e6) + 'b'; for (;;) s < t"],
  ['a loop of startsWith with a long prefix', "const s = 'a'.repeat(5e6), t = 'a'.repeat(5e6 - 1); for (;;) s.startsWith(t)"],
]

const open: ScriptHarness[] = []
afterAll(() => Promise.all(open.map((h) => h.close())))
function harness(): ScriptHarness {
  const h = new ScriptHarness({ tools: [], workers: 1 })
  open.push(h)
  return h
}

describe('the time limit holds inside built-ins', () => {
  const h = harness()
  for (const [name, src] of STUCK) {
    it(`S5 ${name}: ScriptTimeoutError within milliseconds of the deadline, on the same thread`, async () => {
      const [r, ms] = await timed(h.run(src, { limits: { timeoutMs: 100 } }))
      expect(r.error?.code).toBe('ScriptTimeoutError')
      // The watchdog would only step in 250 ms past the deadline.
      expect(ms).toBeLessThan(100 + 120)
      expect(h.stats()).toMatchObject({ workerRestarts: 0, threadsParked: 0 })
    })
  }
})

// QuickJS patch 0004: C paths that turned any exception into a rejection
// swallowed the interrupt, and the loop around them, whose poll budget the
// inner loop spent, never polled: the script ran on past its limit.
describe('the time limit holds where a promise would swallow the interrupt', () => {
  const h = harness()
  for (const src of [
    'for (;;) new Promise(() => { for (;;) {} })',
    'for (;;) Promise.try(() => { for (;;) {} })',
    'for (;;) Promise.all({ [Symbol.iterator]() { for (;;) {} } })',
    'for (;;) Promise.allSettled({ [Symbol.iterator]() { for (;;) {} } })',
    'for (;;) new Promise((resolve) => resolve({ get then() { for (;;) {} } }))',
    'Promise.resolve({ then() { for (;;) {} } }); await null; for (;;) {}',
    '(async function* () { for (;;) {} })().next(); for (;;) {}',
    'for (;;) new Promise(() => { for (;;) new Date(0).getTimezoneOffset() })',
  ]) {
    it(`S5 ${src}`, async () => {
      const [r, ms] = await timed(h.run(src, { limits: { timeoutMs: 100 } }))
      expect(r.error?.code).toBe('ScriptTimeoutError')
      expect(ms).toBeLessThan(100 + 120)
      expect(h.stats()).toMatchObject({ workerRestarts: 0, threadsParked: 0 })
    })
  }
})

describe('close() stops a script inside a built-in', () => {
  for (const [name, src] of STUCK.filter((_, i) => i % 3 === 0)) {
    it(`S15 ${name}: ScriptCancelledError at close(), no thread abandoned`, async () => {
      const h = harness()
      const running = h.run(src, { limits: { timeoutMs: 30_000 } })
      await new Promise((resolve) => setTimeout(resolve, 50))
      const t = Date.now()
      await h.close()
      const r = await running
      expect(r.error?.code).toBe('ScriptCancelledError')
      expect(Date.now() - t).toBeLessThan(200)
      expect(h.stats()).toMatchObject({ workerRestarts: 0, threadsParked: 0 })
    })
  }
})

// In a child process, so that nothing else starts threads meanwhile.
it('S5 after scripts stuck in every one of those built-ins, the thread count is back to its baseline and no worker was replaced', () => {
  const child = inChild(`
    const threads = () => Number(/Threads:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))?.[1] ?? -1)
    const h = new ScriptHarness({ tools: [], workers: 2 })
    await h.run('return 1')
    const before = threads()
    const codes = []
    for (const src of ${JSON.stringify(STUCK.map(([, src]) => src))}) {
      const r = await h.run(src, { limits: { timeoutMs: 50 } })
      codes.push(r.error?.code)
    }
    await new Promise((resolve) => setTimeout(resolve, 400))
    report({ before, after: threads(), codes, stats: h.stats() })
    await h.close()`, 120_000)
  expectCleanExit(child)
  const { before, after, codes, stats } = child.reports[0]
  expect(new Set(codes)).toEqual(new Set(['ScriptTimeoutError']))
  expect(stats).toMatchObject({ workerRestarts: 0, threadsParked: 0 })
  if (process.platform === 'linux') expect(after).toBe(before)
})
