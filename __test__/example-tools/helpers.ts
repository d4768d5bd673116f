// Shared by the example-tools tests: temp workspaces, a ToolContext, and
// checks on processes.
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ToolContext, ToolDefinition } from '../../index.js'

export interface Sandbox {
  /** The workspace root given to the tools. */
  root: string
  /** A directory beside the root, outside it: escapes aim here. */
  outside: string
  cleanup(): Promise<void>
}

export async function sandbox(files: Record<string, string> = {}): Promise<Sandbox> {
  const base = await realpath(await mkdtemp(path.join(tmpdir(), 'example-tools-')))
  const root = path.join(base, 'root')
  const outside = path.join(base, 'outside')
  await mkdir(root)
  await mkdir(outside)
  await writeFiles(root, files)
  return { root, outside, cleanup: () => rm(base, { recursive: true, force: true }) }
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true })
    await writeFile(path.join(dir, rel), content)
  }
}

export function ctx(signal: AbortSignal = new AbortController().signal): ToolContext {
  return { signal, scriptId: 'script-1', callId: 'call-1', toolName: 'test' }
}

/** Calls a tool's handler as the harness would (the args have passed its schema). */
export function call<T = any>(tool: ToolDefinition, args: unknown, context: ToolContext = ctx()): Promise<T> {
  return Promise.resolve(tool.handler(args, context)) as Promise<T>
}

/** Whether a process runs: a zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (existsSync('/proc/self/stat')) {
    try {
      const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0]
      return state !== undefined && state !== 'Z' && state !== 'X'
    } catch {
      return false
    }
  }
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function readPid(file: string): number {
  return Number(readFileSync(file, 'utf8').trim())
}
