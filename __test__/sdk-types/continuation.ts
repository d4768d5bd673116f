// Compiled by `sdk-types.test.ts` with tsc --noEmit: the continuation of
// each format goes to the official SDKs without a cast.
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { ScriptHarness } from '../../index.js'

export async function continueConversation(harness: ScriptHarness, openai: OpenAI, anthropic: Anthropic) {
  const responsesTurn = await harness.processResponse('responses', {})
  await openai.responses.create({ model: 'gpt-5', input: responsesTurn.continuation })

  const chatTurn = await harness.processResponse('chat', {})
  await openai.chat.completions.create({ model: 'gpt-5', messages: chatTurn.continuation })

  const messagesTurn = await harness.processResponse('messages', {})
  await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: messagesTurn.continuation })

  // The stream's end() gives the same shapes.
  const streamed = await harness.stream('chat').end()
  await openai.chat.completions.create({ model: 'gpt-5', messages: [...streamed.continuation] })

  // @ts-expect-error a chat continuation is not Anthropic input
  await anthropic.messages.create({ model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 1 }] })
}
