// Command-line options of the demo.
import { parseArgs } from 'node:util'
import type { ApiFormat } from '../../index.js'

export type ApprovalPolicy = 'ask' | 'yes' | 'no' | 'auto'

export interface DemoOptions {
  apis: ApiFormat[]
  approvals: ApprovalPolicy
  live: boolean
  keep: boolean
  model?: string
}

export const USAGE = `Usage: npm run demo -- [options]      (or: npx tsx examples/demo/main.ts [options])

  --api responses|chat|messages   run one API (default: all three, one after the other)
  --yes                           approve every exec and applyPatch call
  --no                            deny every exec and applyPatch call
  --live                          talk to the real API instead of replaying the recording
                                  (needs OPENAI_API_KEY for responses/chat, ANTHROPIC_API_KEY for messages)
  --model NAME                    the model for --live
  --keep                          keep the temporary workspace
  -h, --help                      this text

Without --yes or --no, approvals are asked in a terminal, and granted when stdin is not a terminal.`

const APIS: ApiFormat[] = ['responses', 'chat', 'messages']

/** Parses argv; throws an Error with a message for the user on bad input. */
export function parseOptions(argv: string[], stdinIsTTY: boolean): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string' },
      yes: { type: 'boolean', default: false },
      no: { type: 'boolean', default: false },
      live: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      model: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) return 'help'
  if (values.yes && values.no) throw new Error('--yes and --no cannot be used together')
  if (values.api !== undefined && !APIS.includes(values.api as ApiFormat)) {
    throw new Error(`--api must be one of ${APIS.join(', ')}, got '${values.api}'`)
  }
  return {
    apis: values.api ? [values.api as ApiFormat] : APIS,
    approvals: values.yes ? 'yes' : values.no ? 'no' : stdinIsTTY ? 'ask' : 'auto',
    live: values.live,
    keep: values.keep,
    model: values.model,
  }
}
