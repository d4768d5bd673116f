#!/usr/bin/env bash
# Runs the sandbox benchmarks: `npm run bench` at the repository root, or
# `bash benches/run.sh [--engines=a,b] [--quick] [--no-write]` from anywhere.
#
# The peers live in benches/package.json so the main package's install never
# has to compile isolated-vm. isolated-vm has no prebuilt binary reachable
# here, so node-gyp builds it against the headers that ship with this Node
# (it cannot download them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
if [ ! -d "$here/node_modules" ]; then
  echo "installing benchmark dependencies (isolated-vm compiles, ~1-2 min)..." >&2
  npm ci --prefix "$here" --no-audit --no-fund >&2
fi
node --expose-gc "$here/bench.mjs" "$@"
case " $* " in
  *" --no-write "*) node "$here/harness-only.mjs"; node "$here/mcp-overhead.mjs"; node "$here/tool-search.mjs"; node --expose-gc "$here/durable.mjs" ;;
  *) node "$here/harness-only.mjs" --write; node "$here/mcp-overhead.mjs" --write; node "$here/tool-search.mjs" --write; node --expose-gc "$here/durable.mjs" --write ;;
esac
