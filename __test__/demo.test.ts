// `npm run demo` (without its build step): the recorded conversations of the
// three APIs, run non-interactively, fix the workspace's bug, and --no ends
// cleanly with the denials reported.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScriptHarness, detectScripts } from '../index.js'
import { codingTools } from '../examples/tools/index.ts'
import { DENIED_ENDING, TURNS } from '../examples/demo/recordings/conversation.ts'
import { loadRecording } from '../examples/demo/replay.ts'

const repo = path.resolve(__dirname, '..')

function demo(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    // stdin is not a terminal: the demo must never wait for an answer.
    const child = spawn(path.join(repo, 'node_modules/.bin/tsx'), ['examples/demo/main.ts', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

const SECTIONS = { responses: '━━ OpenAI Responses API', chat: '━━ OpenAI Chat Completions', messages: '━━ Anthropic Messages API' }

/** The output of one API's conversation. */
function section(out: string, api: keyof typeof SECTIONS): string {
  const start = out.indexOf(SECTIONS[api])
  expect(start, `${api} section`).toBeGreaterThanOrEqual(0)
  const next = out.indexOf('━━ ', start + 3)
  return out.slice(start, next)
}

/** Asserts that the snippets appear in this order. */
function inOrder(text: string, ...snippets: string[]): void {
  let from = 0
  for (const s of snippets) {
    const at = text.indexOf(s, from)
    expect(at, `'${s}' after position ${from}`).toBeGreaterThanOrEqual(0)
    from = at + s.length
  }
}

function workspaceRemoved(out: string): void {
  const dir = /workspaces removed \((.+)\)/.exec(out)?.[1]
  expect(dir).toMatch(/script-harness-demo-/)
  expect(existsSync(dir!)).toBe(false)
}

describe('the demo', () => {
  it('--yes: for each API the tests fail, the model patches the bug, and they pass', { timeout: 120_000 }, async () => {
    const { code, out, err } = await demo('--yes')
    expect(err).not.toMatch(/error/i)
    expect(code).toBe(0)
    expect(out).not.toMatch(/\x1b\[/) // no colors when stdout is not a terminal
    expect(out).toContain('approvals: --yes')
    for (const api of ['responses', 'chat', 'messages'] as const) {
      const s = section(out, api)
      inOrder(
        s,
        'user ▸ The tests of this project fail.',
        "assistant ▸ I'll find the test files",
        '┌ script 1 started',
        '→ #3 exec node --test --test-reporter=tap test/clamp.test.js',
        '#3 exec approved (--yes)',
        'console.log: test/stats.test.js: FAIL (2 failing)',
        '└ script 1 ok',
        '⇒ script 1 returned {"runs":',
        '↩ sent back with the next request',
        '── turn 2 ──',
        'applyPatch update src/math.js',
        '← #6 applyPatch ok',
        'console.log: patched src/math.js (+1 -1)',
        '└ script 2 ok',
        '── turn 3 ──',
        'Both test files pass now.',
        'no scripts in this turn',
      )
      // After the patch, both files pass.
      const afterPatch = s.slice(s.indexOf('patched src/math.js'))
      expect(afterPatch).toContain('console.log: test/stats.test.js: pass')
      expect(afterPatch).toContain('console.log: test/clamp.test.js: pass')
      expect(afterPatch).not.toContain('FAIL')
      // Script bodies are never shown as assistant text.
      expect(s).not.toContain('<tool-calls>')
      expect(s).not.toContain('function failures(tap: string)')
    }
    for (const api of ['responses', 'chat', 'messages']) {
      expect(out).toContain(
        `${api.padEnd(10)} tests before the fix: 1 of 2 test files failing (test/stats.test.js) · after the fix: 2 of 2 test files passing · \`node --test\` in the workspace now passes`,
      )
    }
    workspaceRemoved(out)
  })

  it('--no: every call is denied, the scripts report it, the model stops, and the demo ends cleanly', { timeout: 120_000 }, async () => {
    const { code, out, err } = await demo('--no')
    expect(err).not.toMatch(/error/i)
    expect(code).toBe(0)
    for (const api of ['responses', 'chat', 'messages'] as const) {
      const s = section(out, api)
      inOrder(
        s,
        '#3 exec denied (--no)',
        '← #3 exec denied',
        'console.warn: test/clamp.test.js: not run, the command was not approved',
        '└ script 1 ok',
        '"denied":true',
        '── turn 2 ──',
        'I stopped here: some of the calls',
        'no scripts in this turn',
      )
      expect(s).not.toContain('patched src/math.js')
      expect(s).not.toContain('── turn 3 ──')
      expect(out).toContain(`${api.padEnd(10)} tests before the fix: not run · no patch applied · 3 calls denied · \`node --test\` in the workspace still fails`)
    }
    workspaceRemoved(out)
  })

  it('without a terminal or a flag, approves and says why; --api runs one API; --keep keeps the workspace', { timeout: 120_000 }, async () => {
    const { code, out } = await demo('--api', 'chat', '--keep')
    expect(code).toBe(0)
    expect(out).toContain('stdin is not a terminal and neither --yes nor --no was given, so every call is approved')
    expect(out).toContain('#3 exec approved (auto)')
    expect(out).toContain(SECTIONS.chat)
    expect(out).not.toContain(SECTIONS.responses)
    expect(out).not.toContain(SECTIONS.messages)
    const kept = /workspaces kept in (.+)/.exec(out)?.[1]
    expect(existsSync(path.join(kept!, 'chat/src/math.js'))).toBe(true)
    const { rmSync } = await import('node:fs')
    rmSync(kept!, { recursive: true, force: true })
  })

  it('refuses bad options and --live without an API key, with a message and a non-zero exit', { timeout: 60_000 }, async () => {
    const bad = await demo('--api', 'bard')
    expect(bad.code).toBe(2)
    expect(bad.err).toContain("--api must be one of responses, chat, messages, got 'bard'")
    const env = { ...process.env }
    delete process.env.ANTHROPIC_API_KEY
    try {
      const live = await demo('--live', '--api', 'messages')
      expect(live.code).toBe(1)
      expect(live.err).toContain('--live needs ANTHROPIC_API_KEY')
    } finally {
      process.env = env
    }
  })

  it.each(['responses', 'chat', 'messages'] as const)('the %s recording streams the words of conversation.ts, with valid scripts', async (api) => {
    // Fails when conversation.ts changed without `npx tsx examples/demo/recordings/generate.ts`.
    const harness = new ScriptHarness({ tools: codingTools(repo), workers: 1 })
    const recording = loadRecording(api)
    const expected = [...TURNS, DENIED_ENDING]
    const streamed = [...recording.turns, recording.deniedEnding]
    expect(streamed).toHaveLength(expected.length)
    for (const [i, events] of streamed.entries()) {
      const stream = harness.stream(api, { mode: 'dry-run' })
      let shown = ''
      for (const event of events) shown += stream.push(event)
      const turn = await stream.end()
      const scripts = detectScripts(expected[i]!.text).flatMap((seg) => (seg.type === 'script' ? [seg.source] : []))
      expect(turn.items.flatMap((item) => (item.type === 'script_tool_call' ? [item.source_code] : []))).toEqual(scripts)
      expect(turn.reports?.map((r) => [r.ok, r.unknownTools])).toEqual(scripts.map(() => [true, []]))
      const text = detectScripts(expected[i]!.text).flatMap((seg) => (seg.type === 'text' ? [seg.text] : [])).join('')
      expect(shown.replace(/\s+/g, ' ').trim()).toBe(text.replace(/\s+/g, ' ').trim())
    }
    await harness.close()
  })
})
