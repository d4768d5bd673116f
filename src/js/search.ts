// A ranked search over a harness's tools, for catalogs too large to declare
// in one prompt: the MCP code-mode server's `search_tools`. The ranking is
// MiniSearch's BM25+ over each tool's name (split into words, weighted up)
// and description, with prefix and small-typo matching. Loaded only when a
// server first searches.
import type MiniSearchType from 'minisearch'
import type { ToolSummary } from './types.js'

/** A tool a search found, best first. */
export interface ToolMatch {
  name: string
  description?: string
}

/** The most characters of a description the index reads; the rest is not searched. */
const INDEXED_DESCRIPTION_CHARS = 2000
/** The most distinct words of a query searched for (a search is words, and each costs a pass over the index). */
const MAX_QUERY_WORDS = 16

const isUpper = (c: string | undefined) => c !== undefined && c >= 'A' && c <= 'Z'
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z'
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'

/**
 * The words of a tool name: `gh.createIssue`, `gh.create_issue` → `gh create
 * issue`; `parseHTMLDoc` → `parse HTML Doc`. One pass over the characters (a
 * backtracking pattern over a long run of capitals is quadratic).
 */
function nameWords(name: string): string {
  let out = ''
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!
    if (c === '.' || c === '_' || c === '-' || c === '$') {
      out += ' '
      continue
    }
    const prev = name[i - 1]
    // A capital starts a word after a lower-case letter or a digit, and
    // ends a run of capitals when a lower-case letter follows it.
    if (isUpper(c) && (isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(name[i + 1])))) out += ' '
    out += c
  }
  return out
}

const tokenize = (text: string): string[] => nameWords(text).split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0)

interface Entry {
  id: number
  name: string
  words: string
  description: string
}

export class ToolSearch {
  readonly #catalog: readonly ToolSummary[]
  readonly #index: MiniSearchType<Entry>

  constructor(catalog: readonly ToolSummary[]) {
    const MiniSearch = require('minisearch') as typeof MiniSearchType
    this.#catalog = catalog
    this.#index = new MiniSearch<Entry>({
      fields: ['words', 'description'],
      // Words split out of camelCase too, so `createIssue` in a
      // description finds `create issue`.
      processTerm: (term) => term.toLowerCase(),
      tokenize,
      searchOptions: { boost: { words: 2 }, prefix: true, fuzzy: 0.2, combineWith: 'OR' },
    })
    this.#index.addAll(
      catalog.map((t, id) => ({ id, name: t.name, words: nameWords(t.name), description: (t.description ?? '').slice(0, INDEXED_DESCRIPTION_CHARS) })),
    )
  }

  /** The tools for `query`, best first, at most `limit` of them; none for a query without words. */
  search(query: string, limit: number): ToolMatch[] {
    // Each word once, the first few: a repeated word adds nothing to the ranking.
    const words = [...new Set(tokenize(query).map((w) => w.toLowerCase()))].slice(0, MAX_QUERY_WORDS)
    if (words.length === 0) return []
    return this.#index
      .search(words.join(' '))
      .slice(0, limit)
      .map((hit) => {
        const tool = this.#catalog[hit.id as number]!
        return tool.description === undefined ? { name: tool.name } : { name: tool.name, description: tool.description }
      })
  }
}
