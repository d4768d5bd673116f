// Writes responses.json, chat.json and messages.json: the conversation of
// conversation.ts as each provider streams it, in the exact event shapes of
// __test__/fixtures (ids with the real prefixes, text split into small,
// irregular deltas that cut through tags, usage events). Every event is
// typed with the official SDKs' stream event types, so `npx tsc -p examples`
// checks the shapes.
//
//   npx tsx examples/demo/recordings/generate.ts
//
// The output is deterministic (a seeded generator), so regenerating an
// unchanged conversation changes nothing.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses'
import type { ApiFormat } from '../../../index.js'
import type { Recording } from '../replay.ts'
import { DENIED_ENDING, TURNS, type RecordedTurn } from './conversation.ts'

/** mulberry32: small, seeded, good enough to vary delta sizes reproducibly. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const rand = random(20261125)
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('')
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('')
const base64 = (bytes: number) => Buffer.from(Array.from({ length: bytes }, () => Math.floor(rand() * 256))).toString('base64')

/** Splits text into deltas of 2-12 code points (never inside a surrogate pair). */
function deltas(text: string): string[] {
  const points = Array.from(text)
  const out: string[] = []
  for (let i = 0; i < points.length; ) {
    const n = 2 + Math.floor(rand() * 11)
    out.push(points.slice(i, i + n).join(''))
    i += n
  }
  return out
}

const CREATED = 1796400000

// ---------------------------------------------------------------- Responses

const RESPONSES_MODEL = 'gpt-5.5-2026-09-18'

function responsesTurn(turn: RecordedTurn, index: number): ResponseStreamEvent[] {
  let seq = 0
  const id = `resp_${hex(48)}`
  const created = CREATED + index * 60
  // The wire form: no `output_text` (the SDK adds it to non-streamed results only).
  const wire = (r: Omit<Response, 'output_text'>) => r as Response
  const base = (status: Response['status'], output: Response['output']): Response =>
    wire({
      id,
      object: 'response',
      created_at: created,
      status,
      background: false,
      completed_at: status === 'completed' ? created + 9 : null,
      error: null,
      incomplete_details: null,
      instructions: 'You are a coding agent. Call tools by writing a TypeScript script inside <tool-calls>.',
      max_output_tokens: null,
      max_tool_calls: null,
      model: RESPONSES_MODEL,
      output,
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: 'medium', summary: 'auto' },
      safety_identifier: null,
      service_tier: 'default',
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_p: 0.98,
      truncation: 'disabled',
      metadata: {},
      access_programs: null,
      usage:
        status === 'completed'
          ? { input_tokens: 2400 + index * 900, input_tokens_details: { cache_write_tokens: 0, cached_tokens: 0 }, output_tokens: 420, output_tokens_details: { reasoning_tokens: 64 }, total_tokens: 2820 + index * 900 }
          : undefined, // absent (JSON drops it) until the response completes
    })
  const events: ResponseStreamEvent[] = [
    { type: 'response.created', response: base('in_progress', []), sequence_number: seq++ },
    { type: 'response.in_progress', response: base('in_progress', []), sequence_number: seq++ },
  ]
  const output: Response['output'] = []
  if (turn.reasoning) {
    const item_id = `rs_${hex(48)}`
    const output_index = output.length
    events.push({ type: 'response.output_item.added', output_index, item: { id: item_id, type: 'reasoning', summary: [] }, sequence_number: seq++ })
    events.push({ type: 'response.reasoning_summary_part.added', item_id, output_index, summary_index: 0, part: { type: 'summary_text', text: '' }, sequence_number: seq++ })
    for (const delta of deltas(turn.reasoning)) {
      events.push({ type: 'response.reasoning_summary_text.delta', item_id, output_index, summary_index: 0, delta, sequence_number: seq++ })
    }
    events.push({ type: 'response.reasoning_summary_text.done', item_id, output_index, summary_index: 0, text: turn.reasoning, sequence_number: seq++ })
    events.push({ type: 'response.reasoning_summary_part.done', item_id, output_index, summary_index: 0, part: { type: 'summary_text', text: turn.reasoning }, sequence_number: seq++ })
    const item = { id: item_id, type: 'reasoning' as const, summary: [{ type: 'summary_text' as const, text: turn.reasoning }], encrypted_content: 'gAAAAAB' + base64(380).replace(/\+/g, '-').replace(/\//g, '_') }
    events.push({ type: 'response.output_item.done', output_index, item, sequence_number: seq++ })
    output.push(item)
  }
  const item_id = `msg_${hex(48)}`
  const output_index = output.length
  events.push({ type: 'response.output_item.added', output_index, item: { id: item_id, type: 'message', status: 'in_progress', content: [], role: 'assistant' }, sequence_number: seq++ })
  events.push({ type: 'response.content_part.added', item_id, output_index, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' }, sequence_number: seq++ })
  for (const delta of deltas(turn.text)) {
    events.push({ type: 'response.output_text.delta', item_id, output_index, content_index: 0, delta, logprobs: [], sequence_number: seq++ })
  }
  const part = { type: 'output_text' as const, annotations: [], logprobs: [], text: turn.text }
  events.push({ type: 'response.output_text.done', item_id, output_index, content_index: 0, text: turn.text, logprobs: [], sequence_number: seq++ })
  events.push({ type: 'response.content_part.done', item_id, output_index, content_index: 0, part, sequence_number: seq++ })
  const message = { id: item_id, type: 'message' as const, status: 'completed' as const, content: [part], role: 'assistant' as const }
  events.push({ type: 'response.output_item.done', output_index, item: message, sequence_number: seq++ })
  output.push(message)
  events.push({ type: 'response.completed', response: base('completed', output), sequence_number: seq++ })
  return events
}

// ---------------------------------------------------------------- Chat Completions

function chatTurn(turn: RecordedTurn, index: number): ChatCompletionChunk[] {
  const common = { id: `chatcmpl-${alnum(29)}`, object: 'chat.completion.chunk' as const, created: CREATED + index * 60, model: RESPONSES_MODEL, service_tier: 'default' as const, system_fingerprint: `fp_${hex(10)}` }
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish_reason: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
    ...common,
    choices: [{ index: 0, delta, logprobs: null, finish_reason }],
    obfuscation: alnum(2 + Math.floor(rand() * 10)),
  })
  return [
    chunk({ role: 'assistant', content: '', refusal: null }),
    ...deltas(turn.text).map((content) => chunk({ content })),
    chunk({}, 'stop'),
    {
      ...common,
      choices: [],
      usage: {
        prompt_tokens: 2400 + index * 900,
        completion_tokens: 420,
        total_tokens: 2820 + index * 900,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 64, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      obfuscation: alnum(8),
    },
  ]
}

// ---------------------------------------------------------------- Anthropic Messages

const MESSAGES_MODEL = 'claude-opus-4-8'

function messagesTurn(turn: RecordedTurn, index: number): RawMessageStreamEvent[] {
  const events: RawMessageStreamEvent[] = [
    {
      type: 'message_start',
      message: {
        id: `msg_01${alnum(22)}`,
        type: 'message',
        role: 'assistant',
        model: MESSAGES_MODEL,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        stop_details: null,
        container: null,
        diagnostics: null,
        usage: {
          input_tokens: 2400 + index * 900,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          output_tokens: 4,
          output_tokens_details: null,
          server_tool_use: null,
          service_tier: 'standard',
          inference_geo: 'us',
          speed: 'standard',
        },
      },
    },
  ]
  let block = 0
  if (turn.reasoning) {
    events.push({ type: 'content_block_start', index: block, content_block: { type: 'thinking', thinking: '', signature: '' } })
    for (const thinking of deltas(turn.reasoning)) events.push({ type: 'content_block_delta', index: block, delta: { type: 'thinking_delta', thinking } })
    events.push({ type: 'content_block_delta', index: block, delta: { type: 'signature_delta', signature: 'Eq' + base64(400) } })
    events.push({ type: 'content_block_stop', index: block })
    block++
  }
  events.push({ type: 'content_block_start', index: block, content_block: { type: 'text', text: '', citations: null } })
  for (const text of deltas(turn.text)) events.push({ type: 'content_block_delta', index: block, delta: { type: 'text_delta', text } })
  events.push({ type: 'content_block_stop', index: block })
  events.push({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
    usage: { input_tokens: 2400 + index * 900, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 420, output_tokens_details: turn.reasoning ? { thinking_tokens: 64 } : null, server_tool_use: null },
  })
  events.push({ type: 'message_stop' })
  return events
}

// ---------------------------------------------------------------- writing

/** One event per line, so a diff of a regenerated recording reads event by event. */
function serialize(r: Recording): string {
  const events = (list: unknown[]) => '[\n' + list.map((e) => '  ' + JSON.stringify(e)).join(',\n') + '\n]'
  return [
    '{',
    `"api": ${JSON.stringify(r.api)},`,
    `"description": ${JSON.stringify(r.description)},`,
    `"turns": [\n${r.turns.map(events).join(',\n')}\n],`,
    `"deniedEnding": ${events(r.deniedEnding)}`,
    '}',
    '',
  ].join('\n')
}

const makers: Record<ApiFormat, (turn: RecordedTurn, index: number) => unknown[]> = {
  responses: responsesTurn,
  chat: (turn, index) => chatTurn({ text: turn.text }, index), // Chat Completions streams no reasoning
  messages: messagesTurn,
}

const NAMES: Record<ApiFormat, string> = { responses: 'OpenAI Responses API', chat: 'OpenAI Chat Completions', messages: 'Anthropic Messages API' }

for (const api of ['responses', 'chat', 'messages'] as const) {
  const recording: Recording = {
    api,
    description:
      `${NAMES[api]} stream events of a three-turn conversation fixing examples/demo/workspace; ` +
      'written by examples/demo/recordings/generate.ts from conversation.ts, replayed by `npm run demo`.',
    turns: TURNS.map((turn, i) => makers[api](turn, i)),
    deniedEnding: makers[api](DENIED_ENDING, TURNS.length),
  }
  const file = path.join(import.meta.dirname, `${api}.json`)
  writeFileSync(file, serialize(recording))
  console.log(`wrote ${path.relative(process.cwd(), file)}: ${recording.turns.map((t) => t.length).join(' + ')} events, ending ${recording.deniedEnding.length}`)
}
