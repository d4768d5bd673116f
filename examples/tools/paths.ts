// Confining paths to a root directory. Every tool resolves the paths a model
// gives it here, so "is this inside the workspace?" has one answer.
import { lstat, realpath } from 'node:fs/promises'
import path from 'node:path'

/** A path the model asked for that would leave the root. Its message is for the model. */
export class PathEscapeError extends Error {
  override name = 'PathEscapeError'
}

export interface ResolveOptions {
  /** Accept an absolute path when it lies inside the root (exec's `cwd`). Default: refuse it. */
  allowAbsolute?: boolean
}

/**
 * The real root: tools compare real paths, so a root reached through a
 * symlink (macOS's /var -> /private/var) must be resolved once too.
 */
export async function realRoot(root: string): Promise<string> {
  return realpath(path.resolve(root))
}

/** Whether `candidate` (absolute, normalized) is `root` itself or below it. */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate)
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel))
}

/**
 * Resolves `requested` against the real root `root` and returns the real
 * absolute path it designates, refusing absolute paths (unless allowed),
 * `..` escapes, and symlinks anywhere on the way that lead out of the root.
 *
 * The path may not exist yet (a file a patch adds): then the nearest
 * existing ancestor is resolved with realpath and the missing rest appended,
 * because that ancestor is where the new entries would really be created.
 */
export async function resolveInside(root: string, requested: string, what: string, options: ResolveOptions = {}): Promise<string> {
  if (typeof requested !== 'string' || requested.length === 0) throw new PathEscapeError(`${what}: the path is empty`)
  if (requested.includes('\0')) throw new PathEscapeError(`${what}: the path contains a NUL character`)
  if (path.isAbsolute(requested) && !options.allowAbsolute) {
    throw new PathEscapeError(`${what}: '${requested}' is absolute; paths must be relative to the workspace root`)
  }
  const lexical = path.resolve(root, requested)
  if (!isInside(root, lexical)) throw new PathEscapeError(`${what}: '${requested}' is outside the workspace root`)

  const real = await realpathOfNearestExisting(lexical)
  if (!isInside(root, real)) {
    throw new PathEscapeError(`${what}: '${requested}' leads outside the workspace root through a symbolic link`)
  }
  return real
}

/** realpath of `p`, or of its nearest existing ancestor joined with the parts that do not exist. */
async function realpathOfNearestExisting(p: string): Promise<string> {
  const missing: string[] = []
  let current = p
  for (;;) {
    try {
      const real = await realpath(current)
      return missing.length ? path.join(real, ...missing.reverse()) : real
    } catch (err) {
      if (!isNotFound(err)) throw err
      // A dangling symlink is "missing" for realpath but exists as an entry:
      // creating a file through it would write wherever it points, so refuse.
      if (await isSymlink(current)) {
        throw new PathEscapeError(`'${current}' is a symbolic link to a path that does not exist`)
      }
      const parent = path.dirname(current)
      if (parent === current) throw err
      missing.push(path.basename(current))
      current = parent
    }
  }
}

async function isSymlink(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isSymbolicLink()
  } catch {
    return false
  }
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** The path relative to the root with forward slashes, as tools report paths to the model. */
export function toRelative(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join('/')
}
