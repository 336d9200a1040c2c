#!/usr/bin/env node
// The `dce` command: loads the TypeScript sources through tsx, so the CLI runs from a checkout
// (`npm link`, `npx dce`) without a build step. tsx is a runtime dependency for this reason: the
// command works after `npm ci --omit=dev` too.
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('../cli/dce.ts')
  .main(process.argv.slice(2))
  .catch((error) => {
    process.stderr.write(`dce: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 2;
  });
