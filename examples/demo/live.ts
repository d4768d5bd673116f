// --live: the same loop against the real APIs, through the official SDKs,
// streaming. The model learns the harness from `harness.instructions()` and
// gets each turn's continuation back, after its own turn.
import Anthropic from '@anthropic-ai/sdk'
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import OpenAI from 'openai'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { ScriptHarness, type ApiFormat, type ProcessedTurn } from '../../index.js'
import { codingTools } from '../tools/index.ts'
import { USER_REQUEST } from './recordings/conversation.ts'
import type { TurnSource } from './replay.ts'

/** A conversation that has not ended after this many turns is stopped. */
const MAX_TURNS = 8

export const KEY_OF: Record<ApiFormat, string> = { responses: 'OPENAI_API_KEY', chat: 'OPENAI_API_KEY', messages: 'ANTHROPIC_API_KEY' }

const DEFAULT_MODEL: Record<ApiFormat, string> = { responses: 'gpt-5', chat: 'gpt-5', messages: 'claude-sonnet-4-5' }

export function liveModel(api: ApiFormat, workspace: string, model = DEFAULT_MODEL[api]): TurnSource {
  const system = systemPrompt(workspace)
  switch (api) {
    case 'responses':
      return new LiveResponses(model, system)
    case 'chat':
      return new LiveChat(model, system)
    case 'messages':
      return new LiveMessages(model, system)
  }
}

function systemPrompt(workspace: string): string {
  // A harness only for its instructions: the same definitions the session registers.
  const describer = new ScriptHarness({ tools: codingTools(workspace), workers: 1 })
  const instructions = describer.instructions()
  void describer.close()
  return `You are a coding agent working on a small Node.js project (ES modules; its tests run with \`node --test\`).
You act only through scripts. Calls that run commands or change files may need the user's approval.
When the task is done, answer with a short summary and no script.

${instructions}`
}

/** The turn ended without scripts: nothing to send back, the conversation is over. */
function over(previous: ProcessedTurn | undefined, turns: number): boolean {
  return (previous !== undefined && previous.continuation.length === 0) || turns >= MAX_TURNS
}

class LiveResponses implements TurnSource {
  readonly label: string
  private client = new OpenAI()
  private previousId: string | undefined
  private turns = 0

  constructor(private readonly model: string, private readonly instructions: string) {
    this.label = `live ${model}`
  }

  next(previous: ProcessedTurn | undefined, signal: AbortSignal): AsyncIterable<unknown> | null {
    if (over(previous, this.turns++)) return null
    // The API keeps the turn itself (previous_response_id); only the continuation is new input.
    const input: ResponseInputItem[] = previous ? (previous as ProcessedTurn<'responses'>).continuation : [{ role: 'user', content: USER_REQUEST }]
    return this.stream(input, signal)
  }

  private async *stream(input: ResponseInputItem[], signal: AbortSignal): AsyncIterable<unknown> {
    const events = await this.client.responses.create(
      { model: this.model, instructions: this.instructions, input, previous_response_id: this.previousId, stream: true },
      { signal },
    )
    for await (const event of events) {
      if (event.type === 'response.completed') this.previousId = event.response.id
      yield event
    }
  }
}

class LiveChat implements TurnSource {
  readonly label: string
  private client = new OpenAI()
  private messages: ChatCompletionMessageParam[]
  private lastText = ''
  private turns = 0

  constructor(private readonly model: string, system: string) {
    this.label = `live ${model}`
    this.messages = [{ role: 'system', content: system }, { role: 'user', content: USER_REQUEST }]
  }

  next(previous: ProcessedTurn | undefined, signal: AbortSignal): AsyncIterable<unknown> | null {
    if (over(previous, this.turns++)) return null
    if (previous) this.messages.push({ role: 'assistant', content: this.lastText }, ...(previous as ProcessedTurn<'chat'>).continuation)
    return this.stream(signal)
  }

  private async *stream(signal: AbortSignal): AsyncIterable<unknown> {
    this.lastText = ''
    const chunks = await this.client.chat.completions.create({ model: this.model, messages: this.messages, stream: true }, { signal })
    for await (const chunk of chunks) {
      this.lastText += chunk.choices[0]?.delta?.content ?? ''
      yield chunk
    }
  }
}

class LiveMessages implements TurnSource {
  readonly label: string
  private client = new Anthropic()
  private messages: MessageParam[] = [{ role: 'user', content: USER_REQUEST }]
  private lastText = ''
  private turns = 0

  constructor(private readonly model: string, private readonly system: string) {
    this.label = `live ${model}`
  }

  next(previous: ProcessedTurn | undefined, signal: AbortSignal): AsyncIterable<unknown> | null {
    if (over(previous, this.turns++)) return null
    if (previous) this.messages.push({ role: 'assistant', content: this.lastText }, ...(previous as ProcessedTurn<'messages'>).continuation)
    return this.stream(signal)
  }

  private async *stream(signal: AbortSignal): AsyncIterable<unknown> {
    this.lastText = ''
    const events = await this.client.messages.create(
      { model: this.model, max_tokens: 8192, system: this.system, messages: this.messages, stream: true },
      { signal },
    )
    for await (const event of events) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') this.lastText += event.delta.text
      yield event
    }
  }
}
