// Writing a planned patch so that it lands whole or not at all.
//
// 1. Every new content is written to a temp file beside its target (same
//    directory, so the rename below stays on one filesystem and is atomic).
//    A failure here leaves the targets untouched.
// 2. Each existing target is kept as a backup (a hard link, or a copy where
//    links are not possible), then replaced by a rename, or, for a delete,
//    renamed to its backup.
// 3. If a step of 2 fails, every step already done is undone from the
//    backups, in reverse order; then the backups are removed.
import { randomBytes } from 'node:crypto'
import { chmod, copyFile, link, mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { FileWrite } from './plan.ts'

interface Step {
  write: FileWrite
  temp?: string
  backup?: string
  applied: boolean
}

export async function commitWrites(writes: FileWrite[], display: (abs: string) => string): Promise<void> {
  const steps: Step[] = writes.map((write) => ({ write, applied: false }))
  const createdDirs: string[] = []
  try {
    for (const step of steps) {
      const { abs, content, mode } = step.write
      if (content === null) continue
      const created = await mkdir(path.dirname(abs), { recursive: true })
      if (created) createdDirs.push(created)
      step.temp = sibling(abs, 'tmp')
      await writeFile(step.temp, content, { flag: 'wx' })
      if (mode !== undefined) await chmod(step.temp, mode)
    }
  } catch (err) {
    await cleanUp(steps, createdDirs)
    throw new Error(`applyPatch: nothing was changed: preparing the files failed: ${(err as Error).message}`)
  }

  for (const step of steps) {
    try {
      await applyStep(step)
    } catch (err) {
      const undone = await rollBack(steps)
      await cleanUp(steps, createdDirs)
      throw new Error(
        `applyPatch: writing '${display(step.write.abs)}' failed (${(err as Error).message}); ` +
          (undone ? 'the changes already made were rolled back' : 'rolling back the changes already made failed too: check the files'),
      )
    }
  }
  await Promise.all(steps.map((s) => (s.backup ? rm(s.backup, { force: true }) : undefined)))
}

async function applyStep(step: Step): Promise<void> {
  const { abs, content, original } = step.write
  if (original !== null) {
    step.backup = sibling(abs, 'bak')
    if (content === null) {
      await rename(abs, step.backup)
      step.applied = true
      return
    }
    await link(abs, step.backup).catch(() => copyFile(abs, step.backup!))
  }
  await rename(step.temp!, abs)
  step.temp = undefined
  step.applied = true
}

/** Undoes the applied steps, newest first. Returns whether every one was undone. */
async function rollBack(steps: Step[]): Promise<boolean> {
  let ok = true
  for (const step of [...steps].reverse()) {
    if (!step.applied) continue
    try {
      if (step.backup) {
        await rename(step.backup, step.write.abs)
        step.backup = undefined
      } else {
        await unlink(step.write.abs) // it did not exist before
      }
      step.applied = false
    } catch {
      ok = false
    }
  }
  return ok
}

async function cleanUp(steps: Step[], createdDirs: string[]): Promise<void> {
  for (const s of steps) {
    if (s.temp) await rm(s.temp, { force: true })
    if (s.backup && !s.applied) await rm(s.backup, { force: true })
  }
  // Directories made for new files: only files of this patch were put there.
  for (const dir of createdDirs.reverse()) await rm(dir, { recursive: true, force: true })
}

function sibling(abs: string, kind: 'tmp' | 'bak'): string {
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(6).toString('hex')}.applypatch-${kind}`)
}
