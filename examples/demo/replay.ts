// Where a session's assistant turns come from: a recording replayed event by
// event (this file), or a real API (live.ts).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { ApiFormat, ProcessedTurn } from '../../index.js'

/** A recorded conversation: recordings/<api>.json, written by recordings/generate.ts. */
export interface Recording {
  api: ApiFormat
  description: string
  /** Per turn, the provider's stream events in order. */
  turns: unknown[][]
  /** Replayed instead of the next turn once a turn's calls were denied. */
  deniedEnding: unknown[]
}

export interface TurnSource {
  /** How the model is named in the output. */
  readonly label: string
  /**
   * The next assistant turn as provider stream events, or null when the
   * conversation is over. `previous` is the last turn as the harness
   * processed it: a live model sends its continuation back.
   */
  next(previous: ProcessedTurn | undefined, signal: AbortSignal): AsyncIterable<unknown> | null
}

export function loadRecording(api: ApiFormat): Recording {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, 'recordings', `${api}.json`), 'utf8')) as Recording
}

/** Whether any call of the turn's scripts was denied. */
export function hadDenial(turn: ProcessedTurn): boolean {
  return turn.scripts.some((s) => s.toolCalls.some((call) => call.status === 'denied'))
}

/**
 * Replays a recording. It does not read the continuations (its words are
 * fixed), with one exception a real model would make too: once a turn's
 * calls were denied, it replays the recorded ending that says it stopped.
 */
export class RecordedModel implements TurnSource {
  readonly label: string
  private index = 0
  private finished = false

  /** `pacingMs` between events: a terminal shows the text arriving; elsewhere 0 keeps it fast. */
  constructor(
    private readonly recording: Recording,
    private readonly pacingMs: number,
  ) {
    this.label = `recorded ${modelOf(recording)}`
  }

  next(previous: ProcessedTurn | undefined, signal: AbortSignal): AsyncIterable<unknown> | null {
    if (this.finished) return null
    if (previous && hadDenial(previous)) {
      this.finished = true
      return this.play(this.recording.deniedEnding, signal)
    }
    const events = this.recording.turns[this.index++]
    if (!events) return null
    return this.play(events, signal)
  }

  private async *play(events: unknown[], signal: AbortSignal): AsyncIterable<unknown> {
    for (const event of events) {
      if (signal.aborted) return
      yield event
      // Always yield to the event loop, so tool calls and events of scripts
      // that already started interleave with the stream as they would live.
      await new Promise((resolve) => (this.pacingMs > 0 ? setTimeout(resolve, this.pacingMs) : setImmediate(resolve)))
    }
  }
}

function modelOf(recording: Recording): string {
  const first = recording.turns[0]?.[0] as Record<string, any> | undefined
  return first?.response?.model ?? first?.message?.model ?? first?.model ?? recording.api
}
