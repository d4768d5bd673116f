// `fileSearch`: finds files in the workspace by glob (`src/**/*.ts`) or by a
// fuzzy name (`mathtest` finds `test/math.test.js`), never outside it.
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { go as fuzzy } from 'fuzzysort'
import picomatch from 'picomatch'
import { glob, isDynamicPattern } from 'tinyglobby'
import type { ToolContext, ToolDefinition } from '../../index.js'
import { PathEscapeError, isInside, realRoot } from './paths.ts'

export interface FileSearchArgs {
  pattern: string
  limit?: number
  excludePatterns?: string[]
}

export interface FileMatch {
  /** Relative to the workspace root, with forward slashes. */
  path: string
  /** 1 for a glob match; for a fuzzy match, fuzzysort's score in (0, 1], higher is closer. */
  score: number
}

export interface FileSearchToolOptions {
  root: string
  /** Never searched (in addition to the call's `excludePatterns`). */
  defaultExcludes?: string[]
}

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 1000
const DEFAULT_EXCLUDES = ['**/node_modules/**', '**/.git/**']

export function fileSearchTool(options: FileSearchToolOptions): ToolDefinition {
  const defaultExcludes = options.defaultExcludes ?? DEFAULT_EXCLUDES
  let root: Promise<string> | undefined
  return {
    name: 'fileSearch',
    description:
      'Find files in the workspace. A pattern with glob characters (`*`, `?`, `[…]`, `{a,b}`) is a glob relative to the root ' +
      '(`src/**/*.js`); any other pattern is matched fuzzily against file paths (`mathtest`), best first. node_modules and .git are skipped. ' +
      'Returns Array<{ path: string, score: number }> (paths relative to the root; score 1 for a glob match, 0-1 for a fuzzy one).',
    parameters: {
      type: 'object',
      properties: {
        pattern: { type: 'string', minLength: 1, description: 'A glob, or a fuzzy file name.' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, description: `Most results to return (default ${DEFAULT_LIMIT}).` },
        excludePatterns: {
          type: 'array',
          items: { type: 'string' },
          description: 'Globs of paths to leave out; a pattern without `/` matches file names anywhere (`*.min.js`).',
        },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
    handler: async (args: unknown, ctx: ToolContext): Promise<FileMatch[]> => {
      const { pattern, limit = DEFAULT_LIMIT, excludePatterns = [] } = args as FileSearchArgs
      refuseEscapingPattern(pattern)
      ctx.signal.throwIfAborted()
      root ??= realRoot(options.root)
      const base = await root
      const excluded = excluder(excludePatterns)
      const crawl = (patterns: string) =>
        glob(patterns, {
          cwd: base,
          dot: true,
          onlyFiles: true,
          // Symlinks are not followed: a link to a directory outside the
          // root must not be crawled. Any result whose real path is outside
          // the root is dropped below as well.
          followSymbolicLinks: false,
          expandDirectories: false,
          ignore: defaultExcludes,
          signal: ctx.signal,
        }).catch((err: unknown) => {
          // An aborted crawl rejects with the call's own reason, whatever the library threw.
          throw ctx.signal.aborted ? ctx.signal.reason : err
        })

      const candidates = isDynamicPattern(pattern)
        ? (await crawl(pattern)).sort().map((p) => ({ path: p, score: 1 }))
        : fuzzyRank(pattern, await crawl('**/*'))
      ctx.signal.throwIfAborted()

      const out: FileMatch[] = []
      for (const c of candidates) {
        if (out.length >= limit) break
        if (excluded(c.path) || !(await staysInside(base, c.path))) continue
        out.push(c)
      }
      return out
    },
  }
}

/**
 * Patterns that would make the glob walk outside the root are refused before
 * any crawling (the results are checked again afterwards): absolute ones and
 * `..` segments, including inside braces (`{..,src}/*`).
 */
function refuseEscapingPattern(pattern: string): void {
  if (path.isAbsolute(pattern) || /^[A-Za-z]:/.test(pattern) || /(^|[{,])[/\\]/.test(pattern)) {
    throw new PathEscapeError(`fileSearch: '${pattern}' is absolute; patterns are relative to the workspace root`)
  }
  if (/(^|[/\\{,])\.\.($|[/\\},])/.test(pattern)) {
    throw new PathEscapeError(`fileSearch: '${pattern}' has a '..' segment; the search stays inside the workspace root`)
  }
}

/**
 * A pattern with a `/` is matched against the whole relative path; one
 * without is matched against file names at any depth, as in .gitignore.
 * (picomatch's `basename` option alone would make `test/**` never match.)
 */
function excluder(patterns: string[]): (relative: string) => boolean {
  const byName = patterns.filter((p) => !p.includes('/'))
  const byPath = patterns.filter((p) => p.includes('/'))
  const matchers = [
    ...(byName.length ? [picomatch(byName, { dot: true, basename: true })] : []),
    ...(byPath.length ? [picomatch(byPath, { dot: true })] : []),
  ]
  return (relative) => matchers.some((m) => m(relative))
}

function fuzzyRank(query: string, files: string[]): FileMatch[] {
  // fuzzysort's default threshold (0.5) drops reasonable path matches such
  // as `mathtest` -> `test/math.test.js`; any match is kept, best first.
  return fuzzy(query, files, { threshold: 0.01, limit: 0 }).map((r) => ({ path: r.target, score: Math.round(r.score * 1000) / 1000 }))
}

/** The result and everything it resolves to lie inside the root (no `..`, no symlink out). */
async function staysInside(root: string, relative: string): Promise<boolean> {
  const absolute = path.resolve(root, relative)
  if (!isInside(root, absolute)) return false
  try {
    return isInside(root, await realpath(absolute))
  } catch {
    return false // a dangling link, or a file removed meanwhile
  }
}
