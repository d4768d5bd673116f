// The example `applyPatch` tool: the Codex patch format, Codex's context
// matching, atomicity, and confinement to the root.
import { existsSync, readdirSync } from 'node:fs'
import { chmod, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { applyPatchTool, type ApplyPatchResult } from '../../examples/tools/apply-patch/index.ts'
import { call, ctx, sandbox, type Sandbox } from './helpers'

const MATH = `export function add(a, b) {
  return a - b
}

export function sub(a, b) {
  return a - b
}
`

let box: Sandbox
beforeEach(async () => {
  box = await sandbox({ 'src/math.js': MATH, 'src/strings.js': 'export const hi = "hi"\n', 'README.md': '# demo\n' })
})
afterEach(() => box.cleanup())

const apply = (patch: string, context = ctx()) => call<ApplyPatchResult>(applyPatchTool({ root: box.root }), { patch }, context)
const read = (rel: string) => readFile(path.join(box.root, rel), 'utf8')
const exists = (rel: string) => existsSync(path.join(box.root, rel))
const patch = (...body: string[]) => ['*** Begin Patch', ...body, '*** End Patch'].join('\n')

/** Every file under the root with its content: "nothing changed" compares two of these. */
async function snapshot(dir = box.root, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + e.name
    if (e.isSymbolicLink()) out[rel] = `-> ${await readlink(path.join(dir, e.name))}`
    else if (e.isDirectory()) Object.assign(out, await snapshot(path.join(dir, e.name), rel + '/'))
    else out[rel] = await readFile(path.join(dir, e.name), 'utf8')
  }
  return out
}

describe('applyPatch: operations', () => {
  it('updates a file, finding the hunk after its @@ context line', async () => {
    const r = await apply(patch('*** Update File: src/math.js', '@@ export function add(a, b) {', '-  return a - b', '+  return a + b', ' }'))
    expect(r).toEqual({ success: true, changes: [{ path: 'src/math.js', kind: 'update', additions: 1, deletions: 1 }] })
    // Only the first `return a - b` (the one after the context line) changed.
    expect(await read('src/math.js')).toBe(MATH.replace('return a - b', 'return a + b'))
  })

  it('uses the @@ context line to pick the right one of repeated lines', async () => {
    await apply(patch('*** Update File: src/math.js', '@@ export function sub(a, b) {', '-  return a - b', '+  return a - b // checked'))
    expect(await read('src/math.js')).toBe(MATH.replace(/return a - b\n}\n$/, 'return a - b // checked\n}\n'))
  })

  it('applies several hunks in order, and a first hunk without @@', async () => {
    await apply(
      patch('*** Update File: src/math.js', ' export function add(a, b) {', '-  return a - b', '+  return a + b', '@@ export function sub(a, b) {', '+  // subtracts', '   return a - b'),
    )
    expect(await read('src/math.js')).toBe(MATH.replace('return a - b', 'return a + b').replace(/(sub\(a, b\) \{\n)/, '$1  // subtracts\n'))
  })

  it('adds a file, creating its directories', async () => {
    const r = await apply(patch('*** Add File: docs/guide/intro.md', '+# Intro', '+', '+Hello.'))
    expect(r.changes).toEqual([{ path: 'docs/guide/intro.md', kind: 'add', additions: 3, deletions: 0 }])
    expect(await read('docs/guide/intro.md')).toBe('# Intro\n\nHello.\n')
  })

  it('deletes a file', async () => {
    const r = await apply(patch('*** Delete File: src/strings.js'))
    expect(r.changes).toEqual([{ path: 'src/strings.js', kind: 'delete', additions: 0, deletions: 1 }])
    expect(exists('src/strings.js')).toBe(false)
  })

  it('moves a file while updating it, keeping its permission bits', async () => {
    await chmod(path.join(box.root, 'src/math.js'), 0o755)
    const r = await apply(patch('*** Update File: src/math.js', '*** Move to: lib/arith.js', '@@', '-  return a - b', '+  return a + b'))
    expect(r.changes).toEqual([{ path: 'lib/arith.js', kind: 'move', additions: 1, deletions: 1, from: 'src/math.js' }])
    expect(exists('src/math.js')).toBe(false)
    expect(await read('lib/arith.js')).toBe(MATH.replace('return a - b', 'return a + b'))
    expect((await stat(path.join(box.root, 'lib/arith.js'))).mode & 0o777).toBe(0o755)
  })

  it('does several operations in one patch, each seeing the ones before', async () => {
    const r = await apply(
      patch('*** Add File: notes.txt', '+one', '*** Update File: notes.txt', '@@', ' one', '+two', '*** Delete File: README.md', '*** Update File: src/strings.js', '-export const hi = "hi"', '+export const hi = "hello"'),
    )
    expect(r.changes.map((c) => `${c.kind} ${c.path}`)).toEqual(['add notes.txt', 'update notes.txt', 'delete README.md', 'update src/strings.js'])
    expect(await read('notes.txt')).toBe('one\ntwo\n')
    expect(exists('README.md')).toBe(false)
    expect(await read('src/strings.js')).toBe('export const hi = "hello"\n')
  })

  it('honours *** End of File: the hunk matches the end of the file', async () => {
    await apply(patch('*** Update File: src/math.js', '@@', '-  return a - b', '-}', '+  return b - a', '+}', '*** End of File'))
    expect(await read('src/math.js')).toBe(MATH.replace(/return a - b\n}\n$/, 'return b - a\n}\n'))
  })

  it('keeps CRLF line endings of a CRLF file', async () => {
    await apply(patch('*** Add File: win.txt', '+a', '+b'))
    await writeFile(path.join(box.root, 'win.txt'), 'a\r\nb\r\n')
    await apply(patch('*** Update File: win.txt', '@@', ' a', '-b', '+c'))
    expect(await read('win.txt')).toBe('a\r\nc\r\n')
  })

  it('accepts markers with surrounding whitespace and a trailing newline', async () => {
    const r = await apply(`  *** Begin Patch  \n*** Delete File: README.md\n  *** End Patch\n`)
    expect(r.changes).toHaveLength(1)
  })
})

describe('applyPatch: matching context as Codex does', () => {
  it('ignores trailing whitespace, then surrounding whitespace, then typographic punctuation', async () => {
    await writeFile(path.join(box.root, 'm.txt'), 'alpha   \n\tbeta\nsay \u201chi\u201d \u2014 ok\n')
    await apply(patch('*** Update File: m.txt', '@@', '-alpha', '+ALPHA'))
    await apply(patch('*** Update File: m.txt', '@@', '-beta', '+\tBETA'))
    await apply(patch('*** Update File: m.txt', '@@', '-say "hi" - ok', '+said'))
    expect(await read('m.txt')).toBe('ALPHA\n\tBETA\nsaid\n')
  })

  it('names the file and the line that was not found', async () => {
    const err = await apply(patch('*** Update File: src/math.js', '@@', ' export function add(a, b) {', '-  return a * b', '+  return a + b')).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toMatch(/^src\/math\.js: the hunk at patch line 3 does not apply: the line '  return a \* b' was not found/)
    expect(err.message).toContain('|  return a * b')
  })

  it('names a @@ context line that was not found', async () => {
    await expect(apply(patch('*** Update File: src/math.js', '@@ function mul(a, b) {', '-  return a - b', '+  return a * b'))).rejects.toThrow(
      "src/math.js: the hunk at patch line 3 does not apply: its context line '@@ function mul(a, b) {' was not found",
    )
  })

  it('says when the lines exist but not together', async () => {
    await expect(apply(patch('*** Update File: src/math.js', '@@', ' }', ' export function add(a, b) {', '-  return a - b'))).rejects.toThrow(/not together in this order/)
  })
})

describe('applyPatch: errors change nothing', () => {
  it('is atomic: when the second file\'s hunk fails, the first file is unchanged', async () => {
    const before = await snapshot()
    await expect(
      apply(patch('*** Update File: src/math.js', '@@', '-  return a - b', '+  return a + b', '*** Update File: src/strings.js', '@@', '-export const bye = 1', '+export const bye = 2')),
    ).rejects.toThrow(/src\/strings\.js: .*'export const bye = 1' was not found/)
    expect(await snapshot()).toEqual(before)
  })

  it.each([
    ['no Begin marker', '*** Update File: a\n*** End Patch', /invalid patch at line 1: the first line must be '\*\*\* Begin Patch'/],
    ['no End marker', '*** Begin Patch\n*** Delete File: README.md', /the last line must be '\*\*\* End Patch'/],
    ['an unknown operation', patch('*** Rename File: a'), /line 2: '\*\*\* Rename File: a' is not a file operation/],
    ['an update without hunks', patch('*** Update File: src/math.js'), /the update of 'src\/math\.js' has no hunks/],
    ['a bad hunk line', patch('*** Update File: src/math.js', '@@', 'return a - b'), /line 4: 'return a - b' in a hunk/],
    ['no operations', patch(), /no file operations/],
    ['deleting a missing file', patch('*** Delete File: nope.js'), /cannot delete 'nope\.js': no such file/],
    ['updating a missing file', patch('*** Update File: nope.js', '@@', '+x'), /cannot update 'nope\.js': no such file/],
    ['deleting a directory', patch('*** Delete File: src'), /'src' is not a regular file/],
  ])('refuses %s', async (_, text, message) => {
    const before = await snapshot()
    await expect(apply(text)).rejects.toThrow(message)
    expect(await snapshot()).toEqual(before)
  })

  it('does not write when the signal is aborted before writing', async () => {
    const controller = new AbortController()
    const reason = new Error('cancelled')
    controller.abort(reason)
    const before = await snapshot()
    await expect(apply(patch('*** Delete File: README.md'), ctx(controller.signal))).rejects.toBe(reason)
    expect(await snapshot()).toEqual(before)
  })

  it('leaves no temp or backup files behind', async () => {
    await apply(patch('*** Update File: src/math.js', '@@', '-  return a - b', '+  return a + b', '*** Delete File: README.md', '*** Add File: src/new.js', '+x'))
    expect(Object.keys(await snapshot()).filter((p) => p.includes('applypatch'))).toEqual([])
  })
})

describe('applyPatch: confined to the root', () => {
  const outsideFile = () => path.join(box.outside, 'victim.txt')
  beforeEach(async () => {
    await writeFile(outsideFile(), 'untouched\n')
    await symlink(box.outside, path.join(box.root, 'out-dir'))
    await symlink(outsideFile(), path.join(box.root, 'out-file.txt'))
  })

  it.each([
    ['an Add with ..', () => patch('*** Add File: ../outside/new.txt', '+x'), /outside the workspace root/],
    ['an Add with a nested ..', () => patch('*** Add File: src/../../outside/new.txt', '+x'), /outside the workspace root/],
    ['an absolute Add', () => patch(`*** Add File: ${path.join(box.outside, 'new.txt')}`, '+x'), /is absolute/],
    ['an Add through a symlinked directory', () => patch('*** Add File: out-dir/new.txt', '+x'), /through a symbolic link/],
    ['an Update of a symlink to a file outside', () => patch('*** Update File: out-file.txt', '@@', '-untouched', '+pwned'), /through a symbolic link/],
    ['a Delete through a symlink', () => patch('*** Delete File: out-dir/victim.txt'), /through a symbolic link/],
    ['a Move to ..', () => patch('*** Update File: README.md', '*** Move to: ../outside/moved.md', '@@', '-# demo', '+# moved'), /outside the workspace root/],
    ['a Move through a symlinked directory', () => patch('*** Update File: README.md', '*** Move to: out-dir/moved.md', '@@', '-# demo', '+# moved'), /through a symbolic link/],
  ])('refuses %s, and changes nothing inside or outside', async (_, text, message) => {
    const before = await snapshot()
    const outsideBefore = await snapshot(box.outside)
    await expect(apply(text())).rejects.toThrow(message)
    expect(await snapshot()).toEqual(before)
    expect(await snapshot(box.outside)).toEqual(outsideBefore)
    expect(await readFile(outsideFile(), 'utf8')).toBe('untouched\n')
  })
})
