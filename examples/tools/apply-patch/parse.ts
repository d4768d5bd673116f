// The Codex apply_patch format, parsed into file operations. The grammar
// (openai/codex, codex-rs/apply-patch):
//
//   Patch      := "*** Begin Patch" NL { FileOp } "*** End Patch" NL?
//   FileOp     := AddFile | DeleteFile | UpdateFile
//   AddFile    := "*** Add File: " path NL { "+" line NL }
//   DeleteFile := "*** Delete File: " path NL
//   UpdateFile := "*** Update File: " path NL [ "*** Move to: " path NL ] { Hunk }
//   Hunk       := ("@@" | "@@ " context) NL { (" " | "-" | "+") line NL } [ "*** End of File" NL ]
//
// Leniencies Codex has and models rely on: markers may carry surrounding
// whitespace, the first hunk of an update may omit its "@@" line, a
// completely empty line inside a hunk is an empty context line, and blank
// lines between hunks are skipped.

export interface Chunk {
  /** The text after "@@ ": a line (usually a function or class header) to find first. */
  context?: string
  /** Lines the hunk expects (context and removed), in order. */
  oldLines: string[]
  /** Lines that replace them (context and added). */
  newLines: string[]
  /** "*** End of File": the old lines are at the end of the file. */
  endOfFile: boolean
  /** Lines marked '+' and '-', for the change summary. */
  added: number
  removed: number
  /** 1-based line of the hunk in the patch, for error messages. */
  patchLine: number
}

export type FileOp =
  | { kind: 'add'; path: string; lines: string[] }
  | { kind: 'delete'; path: string }
  | { kind: 'update'; path: string; moveTo?: string; chunks: Chunk[] }

export class PatchSyntaxError extends Error {
  override name = 'PatchSyntaxError'
  constructor(message: string, line?: number) {
    super(line === undefined ? `invalid patch: ${message}` : `invalid patch at line ${line}: ${message}`)
  }
}

const BEGIN = '*** Begin Patch'
const END = '*** End Patch'
const ADD = '*** Add File: '
const DELETE = '*** Delete File: '
const UPDATE = '*** Update File: '
const MOVE = '*** Move to: '
const EOF_MARKER = '*** End of File'

export function parsePatch(text: string): FileOp[] {
  const lines = text.trim().split(/\r?\n/)
  if (lines[0]?.trim() !== BEGIN) throw new PatchSyntaxError(`the first line must be '${BEGIN}'`, 1)
  if (lines.length < 2 || lines[lines.length - 1]!.trim() !== END) {
    throw new PatchSyntaxError(`the last line must be '${END}'`, lines.length)
  }
  const body = lines.slice(1, -1)
  const ops: FileOp[] = []
  let i = 0
  // Patch line of body[i]: the Begin line is line 1.
  const lineNo = (index: number) => index + 2
  while (i < body.length) {
    const header = body[i]!.trim()
    if (header === '') {
      i++
      continue
    }
    if (header.startsWith(ADD)) {
      const path = pathOf(header, ADD, lineNo(i))
      const content: string[] = []
      i++
      while (i < body.length && body[i]!.startsWith('+')) content.push(body[i++]!.slice(1))
      ops.push({ kind: 'add', path, lines: content })
    } else if (header.startsWith(DELETE)) {
      ops.push({ kind: 'delete', path: pathOf(header, DELETE, lineNo(i)) })
      i++
    } else if (header.startsWith(UPDATE)) {
      const path = pathOf(header, UPDATE, lineNo(i))
      const headerLine = lineNo(i)
      i++
      let moveTo: string | undefined
      if (i < body.length && body[i]!.trim().startsWith(MOVE)) moveTo = pathOf(body[i++]!.trim(), MOVE, lineNo(i - 1))
      const chunks: Chunk[] = []
      while (i < body.length) {
        const line = body[i]!
        if (line.trim() === '') {
          // Blank lines before a hunk are skipped; inside one they are empty context lines.
          i++
          continue
        }
        if (line.startsWith('***')) break
        const [chunk, used] = parseChunk(body, i, chunks.length === 0, lineNo)
        chunks.push(chunk)
        i += used
      }
      if (chunks.length === 0) throw new PatchSyntaxError(`the update of '${path}' has no hunks`, headerLine)
      ops.push({ kind: 'update', path, moveTo, chunks })
    } else {
      throw new PatchSyntaxError(
        `'${header}' is not a file operation; expected '${ADD}<path>', '${DELETE}<path>' or '${UPDATE}<path>'`,
        lineNo(i),
      )
    }
  }
  return ops
}

function pathOf(header: string, marker: string, line: number): string {
  const p = header.slice(marker.length).trim()
  if (!p) throw new PatchSyntaxError(`'${marker.trim()}' has no path`, line)
  return p
}

/** Parses the hunk starting at `body[start]`; returns it and the number of lines it used. */
function parseChunk(body: string[], start: number, first: boolean, lineNo: (i: number) => number): [Chunk, number] {
  let i = start
  let context: string | undefined
  const header = body[i]!.trim()
  if (header === '@@') {
    i++
  } else if (header.startsWith('@@ ')) {
    context = header.slice(3)
    i++
  } else if (!first) {
    throw new PatchSyntaxError(`expected a hunk starting with '@@', got '${body[i]}'`, lineNo(i))
  }
  const chunk: Chunk = { context, oldLines: [], newLines: [], endOfFile: false, added: 0, removed: 0, patchLine: lineNo(start) }
  let used = 0
  for (; i < body.length; i++) {
    const line = body[i]!
    if (line.trim() === EOF_MARKER) {
      if (used === 0) throw new PatchSyntaxError('a hunk has no lines before its end-of-file marker', lineNo(i))
      chunk.endOfFile = true
      i++
      break
    }
    const tag = line[0]
    if (line === '') {
      chunk.oldLines.push('')
      chunk.newLines.push('')
    } else if (tag === ' ') {
      chunk.oldLines.push(line.slice(1))
      chunk.newLines.push(line.slice(1))
    } else if (tag === '-') {
      chunk.oldLines.push(line.slice(1))
      chunk.removed++
    } else if (tag === '+') {
      chunk.newLines.push(line.slice(1))
      chunk.added++
    } else {
      if (used === 0) {
        throw new PatchSyntaxError(`'${line}' in a hunk: every line must start with ' ' (context), '-' (removed) or '+' (added)`, lineNo(i))
      }
      break // the next hunk or file operation
    }
    used++
  }
  if (used === 0) throw new PatchSyntaxError('a hunk has no lines', lineNo(start))
  return [chunk, i - start]
}
