// ProcessedTurn.continuation type-checks against the official SDKs' input
// types (openai, @anthropic-ai/sdk) without a cast.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { expect, it } from 'vitest'

it('continuation is assignable to the SDKs input types for every format, and the codex example type-checks', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  let out = ''
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'sdk-types')], { encoding: 'utf8' })
  } catch (e: any) {
    out = String(e.stdout)
  }
  expect(out).toBe('')
}, 60_000)
