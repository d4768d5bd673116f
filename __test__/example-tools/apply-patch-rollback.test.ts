// applyPatch rolls back the files it already wrote when a later write fails.
// Tests run as root here, so permissions cannot make a write fail: the
// failure is injected into `rename` instead (its own file, because vi.mock
// applies to the whole file).
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { applyPatchTool } from '../../examples/tools/apply-patch/index.ts'
import { call, sandbox, type Sandbox } from './helpers'

const inject = vi.hoisted(() => ({ failRenameTo: null as string | null, renames: 0 }))

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>()
  const rename: typeof real.rename = async (from, to) => {
    inject.renames++
    if (inject.failRenameTo !== null && String(to) === inject.failRenameTo) throw Object.assign(new Error('EIO: simulated write failure'), { code: 'EIO' })
    return real.rename(from, to)
  }
  return { ...real, rename, default: { ...real, rename } }
})

let box: Sandbox
beforeEach(async () => {
  box = await sandbox({ 'a.js': 'a = 1\n', 'c.js': 'c = 1\n', 'd.js': 'd = 1\n' })
})
afterEach(async () => {
  inject.failRenameTo = null
  await box.cleanup()
})

const tree = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()

it('undoes the update, add and delete already done when a later write fails', async () => {
  inject.failRenameTo = path.join(box.root, 'd.js')
  const before = tree(box.root)
  const patch = [
    '*** Begin Patch',
    '*** Update File: a.js',
    '-a = 1',
    '+a = 2',
    '*** Add File: new/dir/b.js',
    '+b = 1',
    '*** Delete File: c.js',
    '*** Update File: d.js',
    '-d = 1',
    '+d = 2',
    '*** End Patch',
  ].join('\n')
  const renamesBefore = inject.renames
  await expect(call(applyPatchTool({ root: box.root }), { patch })).rejects.toThrow(
    "applyPatch: writing 'd.js' failed (EIO: simulated write failure); the changes already made were rolled back",
  )
  // The earlier steps really were applied before the failure (so the rollback was exercised).
  expect(inject.renames - renamesBefore).toBeGreaterThanOrEqual(4)
  expect(tree(box.root)).toEqual(before)
  expect(existsSync(path.join(box.root, 'new'))).toBe(false)
  expect(await readFile(path.join(box.root, 'a.js'), 'utf8')).toBe('a = 1\n')
  expect(await readFile(path.join(box.root, 'c.js'), 'utf8')).toBe('c = 1\n')
  expect(await readFile(path.join(box.root, 'd.js'), 'utf8')).toBe('d = 1\n')
})
