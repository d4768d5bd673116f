// `@codex-port/script-harness/mcp`, compiled from src/js/mcp.ts.
'use strict'
module.exports = require('./dist/js/mcp.js')
