// The example `fileSearch` tool: globs, fuzzy names, excludes, and never a
// path outside the root.
import { symlink } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSearchTool, type FileMatch } from '../../examples/tools/file-search.ts'
import { call, ctx, sandbox, writeFiles, type Sandbox } from './helpers'

let box: Sandbox
beforeEach(async () => {
  box = await sandbox({
    'README.md': '',
    'src/math.js': '',
    'src/strings.js': '',
    'src/util/format.js': '',
    'test/math.test.js': '',
    'test/strings.test.js': '',
    'node_modules/lib/math.js': '',
    '.git/HEAD': '',
    '.github/ci.yml': '',
  })
  await writeFiles(box.outside, { 'secret-math.js': '', 'deep/math-notes.txt': '' })
})
afterEach(() => box.cleanup())

const search = (args: object) => call<FileMatch[]>(fileSearchTool({ root: box.root }), args)
const paths = (r: FileMatch[]) => r.map((m) => m.path)

describe('fileSearch', () => {
  it('globs relative to the root, sorted, score 1, skipping node_modules and .git', async () => {
    expect(await search({ pattern: '**/*.js' })).toEqual([
      { path: 'src/math.js', score: 1 },
      { path: 'src/strings.js', score: 1 },
      { path: 'src/util/format.js', score: 1 },
      { path: 'test/math.test.js', score: 1 },
      { path: 'test/strings.test.js', score: 1 },
    ])
    expect(paths(await search({ pattern: 'test/*.test.js' }))).toEqual(['test/math.test.js', 'test/strings.test.js'])
    expect(paths(await search({ pattern: '**/{HEAD,ci.yml}' }))).toEqual(['.github/ci.yml'])
  })

  it('matches a pattern without glob characters fuzzily, best first', async () => {
    const r = await search({ pattern: 'mathtest' })
    expect(r[0]!.path).toBe('test/math.test.js')
    const math = await search({ pattern: 'math' })
    expect(paths(math)).toEqual(['src/math.js', 'test/math.test.js'])
    for (const m of math) expect(m.score).toBeGreaterThan(0)
    expect(math[0]!.score).toBeGreaterThanOrEqual(math[1]!.score)
    expect(await search({ pattern: 'zzzqqq' })).toEqual([])
  })

  it('honours limit', async () => {
    expect(await search({ pattern: '**/*', limit: 2 })).toHaveLength(2)
    expect(await search({ pattern: 'js', limit: 1 })).toHaveLength(1)
  })

  it('leaves out excludePatterns (a pattern without / matches names anywhere)', async () => {
    expect(paths(await search({ pattern: '**/*.js', excludePatterns: ['test/**'] }))).toEqual(['src/math.js', 'src/strings.js', 'src/util/format.js'])
    expect(paths(await search({ pattern: '**/*', excludePatterns: ['*.js', '*.yml'] }))).toEqual(['README.md'])
    expect(paths(await search({ pattern: 'math', excludePatterns: ['*.test.js'] }))).toEqual(['src/math.js'])
  })

  it.each(['../outside/*', '../**/*.js', 'src/../../outside/*', '{..,src}/*', '/etc/*', '{/etc,src}/*'])('refuses %s', async (pattern) => {
    await expect(search({ pattern })).rejects.toThrow(/absolute|'\.\.' segment/)
  })

  it('does not follow symlinks out of the root, by glob or by name', async () => {
    await symlink(box.outside, path.join(box.root, 'src/linked-dir'))
    await symlink(path.join(box.outside, 'secret-math.js'), path.join(box.root, 'src/linked-file.js'))
    const all = [
      ...(await search({ pattern: '**/*' })),
      ...(await search({ pattern: 'src/linked-dir/**' })),
      ...(await search({ pattern: 'secret' })),
      ...(await search({ pattern: 'mathnotes' })),
      ...(await search({ pattern: 'linked' })),
    ]
    expect(paths(all).filter((p) => p.includes('linked') || p.includes('secret') || p.includes('notes'))).toEqual([])
  })

  it('rejects with the signal reason when aborted', async () => {
    const controller = new AbortController()
    const reason = new Error('stop searching')
    controller.abort(reason)
    await expect(call(fileSearchTool({ root: box.root }), { pattern: '**/*' }, ctx(controller.signal))).rejects.toBe(reason)
  })
})
