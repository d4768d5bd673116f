// detectScripts over hand-written cases and every fixture in __test__/fixtures.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectScripts, type Segment } from '../index.js'

const root = path.join(__dirname, 'fixtures/turns')
const fixtures = ['responses', 'chat', 'messages'].flatMap((format) =>
  readdirSync(path.join(root, format))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: `${format}/${f}`, ...JSON.parse(readFileSync(path.join(root, format, f), 'utf8')) })),
)

/** The assistant text blocks of a fixture response, in order. */
function texts(fx: any): string[] {
  switch (fx.format) {
    case 'responses':
      return fx.response.output
        .filter((o: any) => o.type === 'message')
        .flatMap((o: any) => o.content.filter((c: any) => c.type === 'output_text').map((c: any) => c.text))
    case 'chat':
      return [fx.response.choices[0].message.content ?? '']
    default:
      return fx.response.content.filter((b: any) => b.type === 'text').map((b: any) => b.text)
  }
}

const scriptsOf = (segs: Segment[]) => segs.filter((s) => s.type === 'script') as Extract<Segment, { type: 'script' }>[]

describe('detectScripts', () => {
  it('F19 a ```ts tool-calls fenced block is detected', () => {
    const segs = detectScripts('Let me check.\n```ts tool-calls\nconst r = await tools.exec({ command: ["ls"] })\nreturn r.exitCode\n```\nDone.')
    expect(segs.map((s) => s.type)).toEqual(['text', 'script', 'text'])
    expect(scriptsOf(segs)[0]).toMatchObject({ language: 'ts', form: 'fence', source: 'const r = await tools.exec({ command: ["ls"] })\nreturn r.exitCode\n' })
  })

  it('keeps tags, attributes and raw bodies', () => {
    const segs = detectScripts('a <tool-calls id="x">if (a < b && c) return "</div>"</tool-calls> b')
    expect(scriptsOf(segs)[0]).toMatchObject({ source: 'if (a < b && c) return "</div>"', attributes: { id: 'x' }, form: 'tag' })
  })

  it('spans cover the input exactly, in UTF-16 offsets', () => {
    const text = 'é😀\r\n<tool-calls>return 1</tool-calls>\r\n🇪🇸 fin'
    const segs = detectScripts(text)
    let at = 0
    for (const s of segs) {
      expect(s.start).toBe(at)
      at = s.end
    }
    expect(at).toBe(text.length)
    expect(text.slice(segs[1].start, segs[1].end)).toBe('<tool-calls>return 1</tool-calls>')
  })

  it('reports nested, unclosed and stray blocks as problems', () => {
    expect(detectScripts('<tool-calls>a<tool-calls>b</tool-calls>c</tool-calls>').map((s) => s.type === 'problem' && s.kind)).toEqual(['nested'])
    expect(detectScripts('x\n<tool-calls>\nreturn').at(-1)).toMatchObject({ type: 'problem', kind: 'unclosed', text: '<tool-calls>\nreturn' })
    expect(detectScripts('x </tool-calls> y')[1]).toMatchObject({ type: 'problem', kind: 'stray' })
  })

  describe.each(fixtures)('$file', (fx) => {
    it('finds exactly the expected scripts, languages and problems', () => {
      const segs = texts(fx).flatMap((t) => detectScripts(t))
      const found = scriptsOf(segs)
      expect(found.map((s) => s.source.trim())).toEqual(fx.expect.scripts.map((s: string) => s.trim()))
      expect(found.map((s) => s.language)).toEqual(fx.expect.languages ?? found.map((s) => s.language))
      const problems = segs.filter((s) => s.type === 'problem').map((s: any) => s.kind)
      expect(problems).toEqual((fx.expect.problems ?? []).map((p: any) => p.kind))
      // The text outside scripts holds every expected text segment, in order.
      const outside = segs.filter((s) => s.type !== 'script').map((s: any) => s.text).join('')
      let from = 0
      for (const seg of fx.expect.textSegments ?? []) {
        const at = outside.indexOf(seg.trim(), from)
        expect(at, seg).toBeGreaterThanOrEqual(0)
        from = at + seg.trim().length
      }
    })
  })
})
