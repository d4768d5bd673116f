// `npx tsc -p examples`: the tools, the demo and the recordings' event shapes
// (typed with the official SDKs' stream event types) type-check, strict.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { expect, it } from 'vitest'

it('every example type-checks with tsc --strict', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  let out = ''
  try {
    execFileSync(process.execPath, [tsc, '-p', path.resolve(__dirname, '../../examples')], { encoding: 'utf8' })
  } catch (e: any) {
    out = String(e.stdout)
  }
  expect(out).toBe('')
}, 60_000)
