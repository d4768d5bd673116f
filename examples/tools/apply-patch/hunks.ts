// Applying the hunks of an update to a file's text, in memory. Locating a
// hunk follows Codex: its lines are searched from where the previous hunk
// ended, first exactly, then ignoring trailing whitespace, then ignoring
// surrounding whitespace, then also treating typographic dashes, quotes and
// spaces as their ASCII forms. Models often get indentation or trailing
// spaces slightly wrong; they do not get the order of lines wrong.
import type { Chunk } from './parse.ts'

/** A hunk that does not match the file. The message names the file and the line that was not found. */
export class HunkMismatchError extends Error {
  override name = 'HunkMismatchError'
}

export interface Text {
  lines: string[]
  /** Kept so a CRLF file stays CRLF. */
  eol: '\n' | '\r\n'
}

export function toLines(content: string): Text {
  const newlines = content.split('\n').length - 1
  const crlf = newlines > 0 && content.split('\r\n').length - 1 === newlines
  const eol = crlf ? '\r\n' : '\n'
  const lines = content.split(eol)
  // The final newline ends the last line; it does not start an empty one.
  if (lines.at(-1) === '') lines.pop()
  return { lines, eol }
}

/** The file always ends with a newline, as Codex writes it. */
export function fromLines(text: Text): string {
  return text.lines.length ? text.lines.join(text.eol) + text.eol : ''
}

/** The new text of `file` after `chunks`; throws HunkMismatchError naming `displayPath`. */
export function applyChunks(content: string, chunks: Chunk[], displayPath: string): string {
  const { lines, eol } = toLines(content)
  const replacements: Array<{ start: number; length: number; lines: string[] }> = []
  let from = 0
  for (const chunk of chunks) {
    if (chunk.context !== undefined) {
      const at = seek(lines, [chunk.context], from, false)
      if (at === undefined) {
        throw new HunkMismatchError(
          `${displayPath}: the hunk at patch line ${chunk.patchLine} does not apply: its context line '@@ ${chunk.context}' was not found` +
            (from > 0 ? ` after line ${from}` : ''),
        )
      }
      from = at + 1
    }
    if (chunk.oldLines.length === 0) {
      // Pure addition. Codex appends these at the end of the file even after
      // an "@@ context" line; placing them right after that line is what the
      // model meant, so that is done here. Without a context line: at the end.
      replacements.push({ start: chunk.context !== undefined ? from : lines.length, length: 0, lines: chunk.newLines })
      continue
    }
    let expected = chunk.oldLines
    let replacement = chunk.newLines
    let at = seek(lines, expected, from, chunk.endOfFile)
    if (at === undefined && expected.at(-1) === '') {
      // A trailing empty line often stands for the file's final newline,
      // which is not a line of its own here: retry without it.
      expected = expected.slice(0, -1)
      if (replacement.at(-1) === '') replacement = replacement.slice(0, -1)
      at = seek(lines, expected, from, chunk.endOfFile)
    }
    if (at === undefined) throw mismatch(lines, from, chunk, displayPath)
    replacements.push({ start: at, length: expected.length, lines: replacement })
    from = at + expected.length
  }
  // From the bottom up, so earlier positions stay valid.
  const out = [...lines]
  for (const r of [...replacements].sort((a, b) => b.start - a.start)) out.splice(r.start, r.length, ...r.lines)
  return fromLines({ lines: out, eol })
}

const NORMALIZE: Array<[RegExp, string]> = [
  [/[\u2010-\u2015\u2212]/g, '-'],
  [/[\u2018-\u201B]/g, "'"],
  [/[\u201C-\u201F]/g, '"'],
  [/[\u00A0\u2002-\u200A\u202F\u205F\u3000]/g, ' '],
]

const PASSES: Array<(s: string) => string> = [
  (s) => s,
  (s) => s.trimEnd(),
  (s) => s.trim(),
  (s) => NORMALIZE.reduce((acc, [re, to]) => acc.replace(re, to), s.trim()),
]

/**
 * Index of the first place at or after `from` where `pattern` matches,
 * trying each pass over the whole range before a looser one. With
 * `endOfFile`, the end of the file is tried first.
 */
export function seek(lines: string[], pattern: string[], from: number, endOfFile: boolean): number | undefined {
  if (pattern.length === 0) return from
  if (pattern.length > lines.length) return undefined
  const last = lines.length - pattern.length
  const starts = endOfFile ? [last, ...range(from, last)] : range(from, last)
  for (const norm of PASSES) {
    const wanted = pattern.map(norm)
    for (const i of starts) {
      if (wanted.every((w, k) => norm(lines[i + k]!) === w)) return i
    }
  }
  return undefined
}

function range(from: number, to: number): number[] {
  const out: number[] = []
  for (let i = from; i <= to; i++) out.push(i)
  return out
}

/** Says which expected line is missing, so the model can fix its patch rather than guess. */
function mismatch(lines: string[], from: number, chunk: Chunk, displayPath: string): HunkMismatchError {
  const rest = new Set(lines.slice(from).map((l) => l.trim()))
  const missing = chunk.oldLines.find((l) => l.trim() !== '' && !rest.has(l.trim()))
  const where = from > 0 ? ` (searching from line ${from + 1})` : ''
  const why =
    missing !== undefined
      ? `the line '${missing}' was not found${where}`
      : `its lines exist but not together in this order${where}`
  const expected = chunk.oldLines.map((l) => `  |${l}`).join('\n')
  return new HunkMismatchError(`${displayPath}: the hunk at patch line ${chunk.patchLine} does not apply: ${why}. Expected:\n${expected}`)
}
