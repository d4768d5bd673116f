// The throwaway project the model works on: a fresh copy of
// examples/demo/workspace per API, in one temp directory removed at the end.
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const TEMPLATE = path.join(import.meta.dirname, 'workspace')

export class Workspaces {
  /** The temp directory holding one workspace per API. */
  readonly root = realpathSync(mkdtempSync(path.join(tmpdir(), 'script-harness-demo-')))

  /** A fresh copy of the template, so each API starts with the bug in place. */
  create(name: string): string {
    const dir = path.join(this.root, name)
    cpSync(TEMPLATE, dir, { recursive: true })
    return dir
  }

  /** Synchronous, so it also works from a signal handler on the way out. */
  remove(): void {
    rmSync(this.root, { recursive: true, force: true })
  }
}
