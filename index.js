// The package's entry point: its TypeScript layer, compiled (src/js → dist/js).
'use strict'
module.exports = require('./dist/js/index.js')
