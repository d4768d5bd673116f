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

/** The words of a tool name: `gh.createIssue` and `gh.create_issue` → `gh create issue`. */
function nameWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[._\-$]+/g, ' ')
}

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
      tokenize: (text) => nameWords(text).split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0),
      searchOptions: { boost: { words: 2 }, prefix: true, fuzzy: 0.2, combineWith: 'OR' },
    })
    this.#index.addAll(catalog.map((t, id) => ({ id, name: t.name, words: nameWords(t.name), description: t.description ?? '' })))
  }

  /** The tools for `query`, best first, at most `limit` of them; none for a query without words. */
  search(query: string, limit: number): ToolMatch[] {
    return this.#index
      .search(query)
      .slice(0, limit)
      .map((hit) => {
        const tool = this.#catalog[hit.id as number]!
        return tool.description === undefined ? { name: tool.name } : { name: tool.name, description: tool.description }
      })
  }
}
