// `npx tsc -p examples`: the tools, the demo and the recordings' event shapes
// (typed with the official SDKs' stream event types) type-check, strict.
import path from 'node:path'
import { expect, it } from 'vitest'
import { tscErrors } from '../tools'

it('every example type-checks with tsc --strict', () => {
  expect(tscErrors(['-p', path.resolve(__dirname, '../../examples')])).toBe('')
}, 60_000)
