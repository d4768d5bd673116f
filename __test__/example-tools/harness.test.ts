// codingTools(root) registered in a real ScriptHarness: a model-style script
// uses all three, approvals and the harness's cancellation reach the tools.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ScriptHarness, type ApprovalRequest } from '../../index.js'
import { codingTools } from '../../examples/tools/index.ts'
import { isAlive, readPid, sandbox, waitFor, type Sandbox } from './helpers'

const PROJECT = {
  'src/math.js': 'exports.add = (a, b) => a - b\nexports.mul = (a, b) => a * b\n',
  'test/add.test.js': "const test = require('node:test')\nconst assert = require('node:assert')\nconst { add } = require('../src/math.js')\ntest('add', () => assert.strictEqual(add(2, 3), 5))\n",
  'test/mul.test.js': "const test = require('node:test')\nconst assert = require('node:assert')\nconst { mul } = require('../src/math.js')\ntest('mul', () => assert.strictEqual(mul(2, 3), 6))\n",
}

/** What a model writes: find the tests, run them in parallel, fix, rerun. */
const SCRIPT = `
interface Run { exitCode: number; stdout: string }
const tests = await tools.fileSearch({ pattern: 'test/*.test.js' })
const runAll = () => Promise.all(tests.map((t) => tools.exec({ command: ['node', '--test', t.path] }) as Promise<Run>))
const before = await runAll()
const source = await tools.fileSearch({ pattern: 'math' })
let patched: unknown
try {
  patched = await tools.applyPatch({ patch: [
    '*** Begin Patch',
    '*** Update File: ' + source[0].path,
    '@@',
    '-exports.add = (a, b) => a - b',
    '+exports.add = (a, b) => a + b',
    '*** End Patch',
  ].join('\\n') })
} catch (e) {
  if (e.name !== 'ApprovalDeniedError') throw e
  return { denied: e.name, before: before.map((r) => r.exitCode) }
}
const after = await runAll()
return { files: tests.map((t) => t.path), source: source[0].path, before: before.map((r) => r.exitCode), patched, after: after.map((r) => r.exitCode) }
`

let box: Sandbox
let harness: ScriptHarness | undefined
beforeEach(async () => {
  box = await sandbox(PROJECT)
})
afterEach(async () => {
  await harness?.close()
  harness = undefined
  await box.cleanup()
})

describe('codingTools in a ScriptHarness', () => {
  it('a script finds the tests, runs them in parallel, patches the bug and reruns them', async () => {
    const approvals: ApprovalRequest[] = []
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1, onApproval: (req) => (approvals.push(req), 'approved') })
    const r = await harness.run(SCRIPT)
    expect(r.error).toBeUndefined()
    expect(r.value).toEqual({
      files: ['test/add.test.js', 'test/mul.test.js'],
      source: 'src/math.js',
      before: [1, 0],
      patched: { success: true, changes: [{ path: 'src/math.js', kind: 'update', additions: 1, deletions: 1 }] },
      after: [0, 0],
    })
    expect(await readFile(path.join(box.root, 'src/math.js'), 'utf8')).toContain('a + b')
    // fileSearch needs no approval; the four exec calls and applyPatch do.
    expect(approvals.map((a) => a.toolName).sort()).toEqual(['applyPatch', 'exec', 'exec', 'exec', 'exec'])
    expect(r.toolCalls.map((c) => `${c.toolName}:${c.status}`)).toEqual([
      'fileSearch:ok', 'exec:ok', 'exec:ok', 'fileSearch:ok', 'applyPatch:ok', 'exec:ok', 'exec:ok',
    ])
  })

  it('a denied patch changes nothing and the script can report it', async () => {
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1, onApproval: (req) => (req.toolName === 'applyPatch' ? 'denied' : 'approved') })
    const r = await harness.run(SCRIPT)
    expect(r.value).toEqual({ denied: 'ApprovalDeniedError', before: [1, 0] })
    expect(await readFile(path.join(box.root, 'src/math.js'), 'utf8')).toBe(PROJECT['src/math.js'])
  })

  it('an escape attempt is a ToolExecutionError in the script, naming the problem', async () => {
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1, onApproval: () => 'approved' })
    const r = await harness.run(`
      const errors = []
      for (const call of [
        () => tools.applyPatch({ patch: '*** Begin Patch\\n*** Add File: ../evil.txt\\n+x\\n*** End Patch' }),
        () => tools.exec({ command: ['ls'], cwd: '/' }),
        () => tools.fileSearch({ pattern: '../*' }),
      ]) {
        try { await call() } catch (e) { errors.push(e.name + ': ' + e.message) }
      }
      return errors`)
    expect(r.value).toEqual([
      expect.stringMatching(/^ToolExecutionError: .*'\.\.\/evil\.txt' is outside the workspace root/),
      expect.stringMatching(/^ToolExecutionError: .*'\/' is outside the workspace root/),
      expect.stringMatching(/^ToolExecutionError: .*'\.\.\/\*' has a '\.\.' segment/),
    ])
    expect(existsSync(path.join(path.dirname(box.root), 'evil.txt'))).toBe(false)
  })

  it('the script timing out kills the command exec started, and its children', async () => {
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1, onApproval: () => 'approved', limits: { timeoutMs: 1000 } })
    const r = await harness.run(`await tools.exec({ command: ['sh', '-c', 'echo $$ > parent.pid; sleep 30 & echo $! > child.pid; wait'] })`)
    expect(r.error?.code).toBe('ScriptTimeoutError')
    expect(r.toolCalls[0]?.status).toBe('aborted')
    const [parent, child] = [readPid(path.join(box.root, 'parent.pid')), readPid(path.join(box.root, 'child.pid'))]
    await waitFor(() => !isAlive(parent) && !isAlive(child), 2000, 'both processes to be gone')
  })

  it('an exec that loses a Promise.race is killed with what it started', async () => {
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1, onApproval: () => 'approved' })
    // The winner finishes once the loser's child is running, so the loser is surely running when it is aborted.
    const r = await harness.run(`
      return await Promise.race([
        tools.exec({ command: ['sh', '-c', 'echo $$ > parent.pid; sleep 30 & echo $! > child.pid; wait'] }).then(() => 'loser'),
        tools.exec({ command: ['sh', '-c', 'until [ -s child.pid ]; do sleep 0.02; done; echo winner'] }).then((r) => r.stdout.trim()),
      ])`)
    expect(r.value).toBe('winner')
    expect(r.toolCalls.map((c) => c.status)).toEqual(['aborted', 'ok'])
    const [parent, child] = [readPid(path.join(box.root, 'parent.pid')), readPid(path.join(box.root, 'child.pid'))]
    await waitFor(() => !isAlive(parent) && !isAlive(child), 2000, 'both processes to be gone')
  })

  it('describeTools shows the three tools with their schemas for a system prompt', () => {
    harness = new ScriptHarness({ tools: codingTools(box.root), workers: 1 })
    const d = harness.describeTools()
    for (const name of ['exec', 'fileSearch', 'applyPatch']) expect(d).toContain(name)
    expect(d).toContain('command: Array<string>')
    // Results are `unknown` to the harness, so each description states its result's shape.
    expect(d).toContain('Returns { exitCode')
    expect(d).toContain('*** Begin Patch')
  })
})
