// Tools the tests register: real handlers with the contract's shapes.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ScriptHarness, type ScriptHarnessOptions, type ToolDefinition } from '../index.js'

export interface Recorder {
  aborted: string[]
  abortedAt: Record<string, number>
  started: string[]
  maxOverlap: number
}

export function newRecorder(): Recorder {
  return { aborted: [], abortedAt: {}, started: [], maxOverlap: 0 }
}

/** Waits `ms`, honouring its signal; records starts, aborts and overlap. */
export function slowTool(rec: Recorder): ToolDefinition {
  let inFlight = 0
  return {
    name: 'slow',
    handler: (args: any, ctx) =>
      new Promise((resolve, reject) => {
        rec.started.push(ctx.callId)
        inFlight++
        rec.maxOverlap = Math.max(rec.maxOverlap, inFlight)
        const timer = setTimeout(() => {
          inFlight--
          resolve({ slept: args.ms, tag: args.tag })
        }, args.ms)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          inFlight--
          rec.aborted.push(ctx.callId)
          rec.abortedAt[ctx.callId] = Date.now()
          reject(ctx.signal.reason)
        })
      }),
  }
}

/** Runs a command without a shell and reports its exit code and output. */
export const execTool: ToolDefinition = {
  name: 'exec',
  handler: (args: any, ctx) =>
    new Promise((resolve, reject) => {
      const [cmd, ...rest] = args.command as string[]
      const child = spawn(cmd, rest, { signal: ctx.signal })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }))
    }),
}

export const echoTool: ToolDefinition = { name: 'echo', handler: (args) => args }

export function standardTools(rec: Recorder = newRecorder()): ToolDefinition[] {
  return [
    echoTool,
    execTool,
    slowTool(rec),
    {
      name: 'fail',
      handler: () => {
        throw new Error('disk on fire')
      },
    },
    { name: 'failAsync', handler: async () => Promise.reject(new Error('network down')) },
    {
      name: 'applyPatch',
      handler: (args: any) => ({
        success: true,
        changes: [{ path: 'src/a.ts', kind: 'update', additions: 1, deletions: 1, patchLength: String(args.patch).length }],
      }),
    },
    {
      name: 'mcp.github.searchIssues',
      handler: (args: any) => ({ totalCount: 1, items: [{ number: 7, title: `about ${args.query}`, state: 'open', url: 'u', labels: [] }] }),
    },
  ]
}

export function harness(options: Partial<ScriptHarnessOptions> = {}, rec?: Recorder): ScriptHarness {
  return new ScriptHarness({ tools: standardTools(rec), workers: 2, ...options })
}

/** Runs tsc with `args` (e.g. `['-p', dir]`) and returns its diagnostics ('' when it type-checks). */
export function tscErrors(args: string[], cwd?: string): string {
  const tsc = require.resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, ...args], { encoding: 'utf8', cwd })
    return ''
  } catch (e: any) {
    return String(e.stdout)
  }
}

/** `source` as one strict TypeScript file of its own (no lib but es2022): tsc's errors, or ''. */
export function typecheckScript(source: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'typecheck-'))
  try {
    const file = path.join(dir, 'script.ts')
    writeFileSync(file, source)
    return tscErrors(['--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022', file], dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
