// ProcessedTurn.continuation type-checks against the official SDKs' input
// types (openai, @anthropic-ai/sdk) without a cast.
import path from 'node:path'
import { expect, it } from 'vitest'
import { tscErrors } from './tools'

it('continuation is assignable to the SDKs input types for every format, and the codex example type-checks', () => {
  expect(tscErrors(['-p', path.join(__dirname, 'sdk-types')])).toBe('')
}, 60_000)
