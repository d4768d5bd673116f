// The example `exec` tool: argv without a shell, confined cwd, timeout,
// output cap, and cancellation that kills the whole process group.
import { existsSync } from 'node:fs'
import { symlink } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { execTool, type ExecResult } from '../../examples/tools/exec.ts'
import { call, ctx, isAlive, readPid, sandbox, waitFor, type Sandbox } from './helpers'

let box: Sandbox
beforeEach(async () => {
  box = await sandbox({ 'sub/file.txt': 'x' })
})
afterEach(() => box.cleanup())

const exec = () => execTool({ root: box.root })

/** A command that records its own pid and its child's, then waits on the child. */
const parentAndChild = (seconds = 30) => ['sh', '-c', `echo $$ > parent.pid; sleep ${seconds} & echo $! > child.pid; wait`]

describe('exec', () => {
  it('runs argv without a shell, in the root by default', async () => {
    const r = await call<ExecResult>(exec(), { command: ['echo', '$HOME; ls *'] })
    expect(r).toMatchObject({ exitCode: 0, signal: null, stdout: '$HOME; ls *\n', stderr: '', timedOut: false })
    expect(r.durationMs).toBeGreaterThanOrEqual(0)
    const pwd = await call<ExecResult>(exec(), { command: ['pwd'] })
    expect(pwd.stdout.trim()).toBe(box.root)
  })

  it('reports a non-zero exit code and stderr as a result', async () => {
    const r = await call<ExecResult>(exec(), { command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] })
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false })
  })

  it('rejects a program that does not exist', async () => {
    await expect(call(exec(), { command: ['no-such-program-xyz'] })).rejects.toThrow(/cannot run 'no-such-program-xyz': no such program/)
  })

  it('resolves cwd inside the root, relative or absolute', async () => {
    const rel = await call<ExecResult>(exec(), { command: ['pwd'], cwd: 'sub' })
    expect(rel.stdout.trim()).toBe(path.join(box.root, 'sub'))
    const abs = await call<ExecResult>(exec(), { command: ['pwd'], cwd: path.join(box.root, 'sub') })
    expect(abs.stdout.trim()).toBe(path.join(box.root, 'sub'))
  })

  it('rejects a cwd that is not a directory', async () => {
    await expect(call(exec(), { command: ['pwd'], cwd: 'missing' })).rejects.toThrow("exec cwd: 'missing' is not a directory in the workspace")
    await expect(call(exec(), { command: ['pwd'], cwd: 'sub/file.txt' })).rejects.toThrow('is not a directory')
  })

  it.each([
    ['a .. escape', () => '../outside'],
    ['an absolute path outside', () => box.outside],
    ['a symlink to a directory outside', () => 'link-out'],
  ])('refuses a cwd outside the root: %s, and runs nothing', async (_, cwd) => {
    await symlink(box.outside, path.join(box.root, 'link-out'))
    await expect(call(exec(), { command: ['touch', 'ran'], cwd: cwd() })).rejects.toThrow(/outside the workspace root/)
    expect(existsSync(path.join(box.outside, 'ran'))).toBe(false)
    expect(existsSync(path.join(box.root, 'ran'))).toBe(false)
  })

  it('adds env variables and keeps secret-looking ones of the host away', async () => {
    process.env.EXAMPLE_TOOLS_API_KEY = 'sk-should-not-leak'
    try {
      const r = await call<ExecResult>(exec(), { command: ['sh', '-c', 'echo "[$EXAMPLE_TOOLS_API_KEY][$GREETING]"'], env: { GREETING: 'hi' } })
      expect(r.stdout).toBe('[][hi]\n')
    } finally {
      delete process.env.EXAMPLE_TOOLS_API_KEY
    }
  })

  it('kills the command at its timeout and says so', async () => {
    const started = Date.now()
    const r = await call<ExecResult>(exec(), { command: ['sleep', '30'], timeoutMs: 300 })
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: 137 })
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('kills the whole process group at the timeout', async () => {
    const r = await call<ExecResult>(exec(), { command: parentAndChild(), timeoutMs: 500 })
    expect(r.timedOut).toBe(true)
    const [parent, child] = [readPid(path.join(box.root, 'parent.pid')), readPid(path.join(box.root, 'child.pid'))]
    await waitFor(() => !isAlive(parent) && !isAlive(child), 2000, 'both processes to be gone')
  })

  it('on abort, kills the command and what it started, then rejects with the reason', async () => {
    const controller = new AbortController()
    const pending = call(exec(), { command: parentAndChild() }, ctx(controller.signal))
    const pidFile = (n: string) => path.join(box.root, `${n}.pid`)
    await waitFor(() => existsSync(pidFile('child')), 5000, 'the child to start')
    const [parent, child] = [readPid(pidFile('parent')), readPid(pidFile('child'))]
    expect(isAlive(parent) && isAlive(child)).toBe(true)
    const reason = new Error('cancelled by the test')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    // The rejection comes after the group was killed: nothing is left running.
    await waitFor(() => !isAlive(parent) && !isAlive(child), 1000, 'both processes to be gone')
  })

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('too late'))
    await expect(call(exec(), { command: ['touch', 'ran'] }, ctx(controller.signal))).rejects.toThrow('too late')
    expect(existsSync(path.join(box.root, 'ran'))).toBe(false)
  })

  it('does not wait for, or leave behind, background processes of a command that exited', async () => {
    const started = Date.now()
    const r = await call<ExecResult>(exec(), { command: ['sh', '-c', 'sleep 30 & echo $! > bg.pid; echo done'] })
    expect(r.stdout).toBe('done\n')
    expect(Date.now() - started).toBeLessThan(5000)
    const bg = readPid(path.join(box.root, 'bg.pid'))
    await waitFor(() => !isAlive(bg), 1000, 'the background process to be gone')
  })

  it('caps each stream, keeping the head and the tail, and says how much was cut', async () => {
    const r = await call<ExecResult>(exec(), { command: ['sh', '-c', 'seq 1 100000; echo small >&2'] })
    const total = 588895 // bytes `seq 1 100000` prints
    expect(r.stdout.startsWith('1\n2\n3\n')).toBe(true)
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true)
    expect(r.stdout).toContain(`[… ${total - 64 * 1024} bytes of output cut (${total} in all, ${64 * 1024} kept) …]`)
    expect(Buffer.byteLength(r.stdout)).toBeLessThan(64 * 1024 + 200)
    expect(r.stderr).toBe('small\n')
  })

  it('takes its cap from the options', async () => {
    const r = await call<ExecResult>(execTool({ root: box.root, maxOutputBytes: 100 }), { command: ['sh', '-c', 'seq 1 1000'] })
    expect(r.stdout).toMatch(/^1\n2\n[\s\S]*\[… \d+ bytes of output cut \(3893 in all, 100 kept\) …\][\s\S]*\n1000\n$/)
  })

  it('declares a schema and needs approval', () => {
    const tool = exec()
    expect(tool.name).toBe('exec')
    expect(tool.requiresApproval).toBe(true)
    expect(tool.parameters).toMatchObject({ required: ['command'] })
  })
})
