// The host side of tool calls (src/js/calls.ts) driven directly with engine
// messages and a recording link, no engine: what a call's handler gets and
// what the engine hears back, on the common path (no approval, no schema
// library) and when a message lacks what an approval needs.
import { describe, expect, it } from 'vitest'
import { ToolHost } from '../src/js/calls'
import type { CallToken, NativeLink } from '../src/js/native'
import type { HostTool } from '../src/js/options'
import type { ToolContext } from '../src/js/types'

type Heard = [string, ...unknown[]]

function fixture(tools: HostTool[], onApproval?: () => 'approved') {
  const heard: Heard[] = []
  const link = {
    resolve: (token: CallToken, json?: string) => void heard.push(['resolve', token.call, json]),
    reject: (token: CallToken, code: string, message: string) => void heard.push(['reject', token.call, code, message]),
    skip: (token: CallToken) => void heard.push(['skip', token.call]),
    mayAskApproval: () => true,
    mayRun: () => true,
    approvalPending: () => {},
    cancel: () => {},
  } as unknown as NativeLink
  const host = new ToolHost(link, { tools, onEvent: undefined, onApproval, config: {}, snapshotKey: undefined } as never)
  void host.begin(1, undefined)
  const call = (n: number, fields: Record<string, unknown> = {}) =>
    host.dispatch(
      JSON.stringify([
        {
          t: 'call',
          token: { run: 1, worker: 0, script: 1, call: n },
          tool: 0,
          toolName: 't',
          scriptId: 's',
          callId: `s-c${n + 1}`,
          args: { v: n },
          maxResultBytes: 1000,
          ...fields,
        },
      ]),
    )
  return { heard, call, host }
}

const tool = (handler: HostTool['handler'], approval: HostTool['approval'] = 'never'): HostTool => ({
  handler,
  validator: undefined,
  approval,
  predicate: undefined,
})

describe('ToolHost', () => {
  it('answers a plain value at once, a promise when it settles, and a throw as a tool error', async () => {
    const answers: unknown[] = [{ ok: 1 }, Promise.resolve([2]), new Error('no')]
    const { heard, call, host } = fixture([
      tool((args) => {
        const a = answers.shift()
        if (a instanceof Error) throw a
        return a ?? args
      }),
    ])
    call(0)
    expect(heard).toEqual([['resolve', 0, '{"ok":1}']])
    call(1)
    await Promise.resolve()
    await Promise.resolve()
    call(2)
    call(3)
    expect(heard.slice(1)).toEqual([
      ['resolve', 1, '[2]'],
      ['reject', 2, 'ToolExecutionError', 'no'],
      ['resolve', 3, '{"v":3}'],
    ])
    expect(host.pendingCalls).toBe(0)
  })

  it("gives the handler its context with an own, enumerable signal that a spread keeps", () => {
    let seen: ToolContext | undefined
    const { call } = fixture([
      tool((_args, ctx) => {
        seen = { ...ctx }
        return null
      }),
    ])
    call(4)
    expect(Object.keys(seen!).sort()).toEqual(['callId', 'scriptId', 'signal', 'toolName'])
    expect(seen!.signal).toBeInstanceOf(AbortSignal)
    expect(seen!.callId).toBe('s-c5')
  })

  it('fails a call of a tool that needs approval, unasked, when its message lacks what a person is shown', () => {
    let asked = 0
    let ran = 0
    const { heard, call } = fixture(
      [
        tool(() => {
          ran++
          return 1
        }, 'always'),
      ],
      () => {
        asked++
        return 'approved'
      },
    )
    call(0)
    expect(heard).toEqual([['reject', 0, 'HarnessInternalError', 'tools.t was not run: its approval request is incomplete (a bug: please report it)']])
    expect([asked, ran]).toEqual([0, 0])
  })
})
