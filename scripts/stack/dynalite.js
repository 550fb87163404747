#!/usr/bin/env node
// Launcher for dynalite, the local DynamoDB stand-in used by the integration tests and
// scripts/stack.sh.
//
//   node scripts/stack/dynalite.js --port P [--path D] [--host 127.0.0.1]
//        [--create-table-ms N] [--delete-table-ms N] [--update-table-ms N]
//        [--max-item-size-kb N] [--verbose] [--stdin-watchdog]
//
// In-memory unless --path is given (LevelDB there). Tables go ACTIVE immediately (the
// *-table-ms options default to 0 here instead of dynalite's 500). Prints exactly one line
// "ready <port>" on stdout once listening (--port 0 = any free port), and stops cleanly on
// SIGTERM/SIGINT (and on stdin EOF with --stdin-watchdog).
//
// dynalite 4.0.0 checks that an Authorization header with Credential, SignedHeaders and
// Signature and an X-Amz-Date (or Date) are present; it does not verify signatures, key ids
// or dates (tests/integration/awsproxy.py does). Its JSON answers carry x-amz-crc32.
'use strict';

const fs = require('fs');
const path = require('path');
const { parseArgs, onStop } = require('./launcher');

const PROG = 'dynalite.js';
const USAGE =
  'usage: node scripts/stack/dynalite.js --port P [--path D] [--host H]\n' +
  '       [--create-table-ms N] [--delete-table-ms N] [--update-table-ms N]\n' +
  '       [--max-item-size-kb N] [--verbose] [--stdin-watchdog]\n';

function num(name, key) {
  return (o, value, usage) => {
    const n = Number(value());
    if (!Number.isFinite(n) || n < 0) usage(`${name} needs a non-negative number`);
    o[key] = n;
  };
}

const FLAGS = {
  '--path': (o, value) => { o.path = value(); },
  '--create-table-ms': num('--create-table-ms', 'createTableMs'),
  '--createTableMs': num('--createTableMs', 'createTableMs'),
  '--delete-table-ms': num('--delete-table-ms', 'deleteTableMs'),
  '--deleteTableMs': num('--deleteTableMs', 'deleteTableMs'),
  '--update-table-ms': num('--update-table-ms', 'updateTableMs'),
  '--updateTableMs': num('--updateTableMs', 'updateTableMs'),
  '--max-item-size-kb': num('--max-item-size-kb', 'maxItemSizeKb'),
  '--maxItemSizeKb': num('--maxItemSizeKb', 'maxItemSizeKb'),
};

function main() {
  const { opts } = parseArgs(PROG, process.argv.slice(2), USAGE, {
    path: null, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, maxItemSizeKb: null,
  }, FLAGS);
  const dynalite = require('dynalite');

  const options = {
    createTableMs: opts.createTableMs,
    deleteTableMs: opts.deleteTableMs,
    updateTableMs: opts.updateTableMs,
    verbose: opts.verbose,
  };
  if (opts.maxItemSizeKb !== null) options.maxItemSizeKb = opts.maxItemSizeKb;
  if (opts.path) {
    options.path = path.resolve(opts.path);
    fs.mkdirSync(options.path, { recursive: true });
  }

  const server = dynalite(options);
  server.keepAliveTimeout = 30000;

  // dynalite's close() stops the HTTP server, then closes the store (flushing LevelDB).
  onStop(PROG, opts, () => {
    server.close(err => {
      if (err) process.stderr.write(`dynalite.js: close: ${err}\n`);
      process.exit(err ? 1 : 0);
    });
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  });

  // dynalite rethrows a request's 'error' (index.js: req.on('error', function (err) { throw err })),
  // so a client that goes away mid-body (a bootstrap killed inside a request, as
  // test_crash_points does) took the whole stand-in down. DynamoDB drops that request and serves
  // the next: so does this. Any other uncaught error still stops the process.
  process.on('uncaughtException', err => {
    if (err && err.code === 'ECONNRESET') {
      process.stderr.write(`dynalite.js: a client went away mid-request (${err.message}); serving on\n`);
      return;
    }
    process.stderr.write(`dynalite.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });

  server.on('error', err => {
    process.stderr.write(`dynalite.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`ready ${server.address().port}\n`);
  });
}

main();
