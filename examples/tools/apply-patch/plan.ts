// Turns parsed file operations into the final content of every file they
// touch, without writing anything: a patch that fails anywhere fails here,
// before the disk is touched.
import { lstat, readFile } from 'node:fs/promises'
import { applyChunks, toLines } from './hunks.ts'
import type { FileOp } from './parse.ts'
import { isNotFound, resolveInside, toRelative } from '../paths.ts'

export interface Change {
  /** Relative to the root; for a move, the destination. */
  path: string
  kind: 'add' | 'update' | 'delete' | 'move'
  additions: number
  deletions: number
  /** For a move: the source. */
  from?: string
}

/** What to do to one file on disk. */
export interface FileWrite {
  abs: string
  /** New content, or null to delete. */
  content: string | null
  /** The bytes there before (null: no file), kept to roll back. */
  original: Buffer | null
  /** The original's permission bits, kept by an update. */
  mode?: number
}

export interface Plan {
  changes: Change[]
  writes: FileWrite[]
}

export async function planPatch(root: string, ops: FileOp[]): Promise<Plan> {
  const files = new Overlay()
  const changes: Change[] = []
  const resolve = (p: string) => resolveInside(root, p, 'applyPatch')
  for (const op of ops) {
    const abs = await resolve(op.path)
    const rel = toRelative(root, abs)
    if (op.kind === 'add') {
      await files.read(abs, rel) // refuses a directory; an existing file is replaced, as in Codex
      files.set(abs, op.lines.map((l) => l + '\n').join(''))
      changes.push({ path: rel, kind: 'add', additions: op.lines.length, deletions: 0 })
    } else if (op.kind === 'delete') {
      const current = await files.read(abs, rel)
      if (current === null) throw new Error(`applyPatch: cannot delete '${rel}': no such file`)
      files.set(abs, null)
      changes.push({ path: rel, kind: 'delete', additions: 0, deletions: toLines(current).lines.length })
    } else {
      const current = await files.read(abs, rel)
      if (current === null) throw new Error(`applyPatch: cannot update '${rel}': no such file`)
      const updated = applyChunks(current, op.chunks, rel)
      const additions = op.chunks.reduce((n, c) => n + c.added, 0)
      const deletions = op.chunks.reduce((n, c) => n + c.removed, 0)
      if (op.moveTo === undefined) {
        files.set(abs, updated)
        changes.push({ path: rel, kind: 'update', additions, deletions })
      } else {
        const dest = await resolve(op.moveTo)
        const destRel = toRelative(root, dest)
        await files.read(dest, destRel) // refuses a directory
        files.set(abs, null)
        files.set(dest, updated, files.modeOf(abs))
        changes.push({ path: destRel, kind: 'move', additions, deletions, from: rel })
      }
    }
  }
  return { changes, writes: files.writes() }
}

/**
 * The files as the patch leaves them, over the files on disk: an operation
 * sees the effect of the ones before it (add then update, update then delete).
 */
class Overlay {
  private files = new Map<string, { original: Buffer | null; mode?: number; current: string | null }>()

  async read(abs: string, rel: string): Promise<string | null> {
    const known = this.files.get(abs)
    if (known) return known.current
    let original: Buffer | null = null
    let mode: number | undefined
    try {
      const st = await lstat(abs)
      if (!st.isFile()) throw new Error(`applyPatch: '${rel}' is not a regular file`)
      original = await readFile(abs)
      mode = st.mode & 0o7777
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
    const current = original === null ? null : original.toString('utf8')
    this.files.set(abs, { original, mode, current })
    return current
  }

  set(abs: string, content: string | null, mode?: number): void {
    const entry = this.files.get(abs)
    if (!entry) throw new Error(`internal: '${abs}' was written before it was read`)
    entry.current = content
    if (mode !== undefined) entry.mode = mode
  }

  modeOf(abs: string): number | undefined {
    return this.files.get(abs)?.mode
  }

  /** Only what differs from the disk. */
  writes(): FileWrite[] {
    const out: FileWrite[] = []
    for (const [abs, f] of this.files) {
      const unchanged = f.current === null ? f.original === null : f.original !== null && f.original.equals(Buffer.from(f.current))
      if (!unchanged) out.push({ abs, content: f.current, original: f.original, mode: f.mode })
    }
    return out
  }
}
