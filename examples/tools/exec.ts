// `exec`: runs a command (argv, no shell) inside the workspace, with a
// timeout, capped output, and cancellation that takes down every process the
// command started.
import { spawn } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { constants } from 'node:os'
import type { ToolContext, ToolDefinition } from '../../index.js'
import { CappedOutput } from './capped-output.ts'
import { realRoot, resolveInside } from './paths.ts'

export interface ExecArgs {
  command: string[]
  cwd?: string
  env?: Record<string, string>
  timeoutMs?: number
}

export interface ExecResult {
  /** The exit code; 128 + the signal number when a signal ended the command (as shells report it). */
  exitCode: number
  /** The signal that ended the command, if one did. */
  signal: string | null
  stdout: string
  stderr: string
  /** Whether the command ran past its timeout and was killed. */
  timedOut: boolean
  durationMs: number
}

export interface ExecToolOptions {
  /** The workspace: `cwd` is resolved inside it, and is it by default. */
  root: string
  /** When the call gives no `timeoutMs`. Default 60 s. */
  defaultTimeoutMs?: number
  /** Kept per stream (stdout, stderr). Default 64 KiB. */
  maxOutputBytes?: number
}

const MAX_TIMEOUT_MS = 10 * 60_000

/**
 * Variables a model's commands should not see. The harness redacts such
 * values in approval prompts; a command that could print them would undo that.
 */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|COOKIE|AUTH/i

export function execTool(options: ExecToolOptions): ToolDefinition {
  const maxOutputBytes = options.maxOutputBytes ?? 64 * 1024
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000
  let root: Promise<string> | undefined
  return {
    name: 'exec',
    description:
      'Run a command in the workspace without a shell (argv form: no pipes, globs or `&&`; use ["sh", "-c", "…"] if you need them). ' +
      'A non-zero exit code is a result, not an error. stdout and stderr are cut to their first and last ' +
      `${maxOutputBytes / 2048} KiB each. The command and everything it started is killed on timeout or cancellation. ` +
      'Returns { exitCode: number, signal: string | null, stdout: string, stderr: string, timedOut: boolean, durationMs: number }.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'The program and its arguments.' },
        cwd: { type: 'string', description: 'Working directory, relative to the workspace root (default: the root).' },
        env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra environment variables.' },
        timeoutMs: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS, description: `Default ${defaultTimeoutMs}.` },
      },
      required: ['command'],
      additionalProperties: false,
    },
    requiresApproval: true,
    handler: async (args: unknown, ctx: ToolContext): Promise<ExecResult> => {
      const { command, cwd, env, timeoutMs } = args as ExecArgs
      root ??= realRoot(options.root)
      const dir = await resolveInside(await root, cwd ?? '.', 'exec cwd', { allowAbsolute: true })
      // spawn reports a missing cwd as ENOENT, indistinguishable from a missing program.
      if (!(await isDirectory(dir))) throw new Error(`exec cwd: '${cwd ?? '.'}' is not a directory in the workspace`)
      ctx.signal.throwIfAborted()
      return run(command, { cwd: dir, env: { ...inheritedEnv(), ...env }, timeoutMs: timeoutMs ?? defaultTimeoutMs, maxOutputBytes, signal: ctx.signal })
    },
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory()
  } catch {
    return false
  }
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !SECRET_NAME.test(name)) env[name] = value
  }
  return env
}

interface RunOptions {
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  maxOutputBytes: number
  signal: AbortSignal
}

function run(command: string[], o: RunOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const [program, ...argv] = command as [string, ...string[]]
    // detached: the command leads its own process group, so one kill of the
    // group (-pid) also reaches what it started (a test runner's workers,
    // `sh -c 'a & b'`), which a kill of the pid alone would leave running.
    const child = spawn(program, argv, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const stdout = new CappedOutput(o.maxOutputBytes)
    const stderr = new CappedOutput(o.maxOutputBytes)
    child.stdout.on('data', (d: Buffer) => stdout.push(d))
    child.stderr.on('data', (d: Buffer) => stderr.push(d))

    let timedOut = false
    let exited = false
    const killGroup = () => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // ESRCH: the group is already gone.
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, o.timeoutMs)
    const onAbort = () => killGroup()
    o.signal.addEventListener('abort', onAbort, { once: true })

    // When the command itself exits, whatever it left behind in its group
    // is killed too: otherwise a background process holding the pipes open
    // would keep `close` from ever firing, and would outlive the call.
    child.on('exit', () => {
      exited = true
      killGroup()
    })
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      if (!exited) reject(new Error(`exec: cannot run '${program}': ${err.code === 'ENOENT' ? 'no such program' : err.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      // Rejected only once the group is dead, so a caller that sees the
      // rejection can rely on nothing still running.
      if (o.signal.aborted) return reject(o.signal.reason)
      resolve({
        exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
        signal,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        timedOut,
        durationMs: Math.round(performance.now() - started),
      })
    })
  })
}
