// Compiled by `sdk-types.test.ts`: defineTool types a handler from its zod schemas.
import { z } from 'zod'
import { defineTool, ScriptHarness } from '../../index.js'

const read = defineTool({
  name: 'read',
  parameters: z.object({ path: z.string(), limit: z.number().default(10) }),
  returns: z.object({ text: z.string() }),
  handler: ({ path, limit }) => {
    const p: string = path
    const l: number = limit
    return { text: `${p}:${l}` }
  },
})
const bad = defineTool({
  name: 'bad',
  parameters: z.object({ n: z.number() }),
  // @ts-expect-error n is a number, not a string
  handler: ({ n }: { n: string }) => n,
})
const plain = defineTool({ name: 'plain', parameters: { type: 'object' }, handler: (args) => args })
new ScriptHarness({ tools: [read, bad, plain] })
