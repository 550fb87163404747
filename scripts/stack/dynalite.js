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

function usage(msg) {
  if (msg) process.stderr.write(`dynalite.js: ${msg}\n`);
  process.stderr.write(
    'usage: node scripts/stack/dynalite.js --port P [--path D] [--host H]\n' +
      '       [--create-table-ms N] [--delete-table-ms N] [--update-table-ms N]\n' +
      '       [--max-item-size-kb N] [--verbose] [--stdin-watchdog]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: null,
    host: '127.0.0.1',
    path: null,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    maxItemSizeKb: null,
    verbose: false,
    stdinWatchdog: false,
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) usage(`${name} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    switch (name) {
      case '--port': opts.port = Number(value()); break;
      case '--host': opts.host = value(); break;
      case '--path': opts.path = value(); break;
      case '--create-table-ms': case '--createTableMs': opts.createTableMs = num(name, value()); break;
      case '--delete-table-ms': case '--deleteTableMs': opts.deleteTableMs = num(name, value()); break;
      case '--update-table-ms': case '--updateTableMs': opts.updateTableMs = num(name, value()); break;
      case '--max-item-size-kb': case '--maxItemSizeKb': opts.maxItemSizeKb = num(name, value()); break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '--stdin-watchdog': opts.stdinWatchdog = true; break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (opts.port === null || !Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    usage('--port P is required (0 = any free port)');
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
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

  let stopping = false;
  const stop = why => {
    if (stopping) return;
    stopping = true;
    if (opts.verbose) process.stderr.write(`dynalite.js: stopping (${why})\n`);
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    // dynalite's close() stops the HTTP server, then closes the store (flushing LevelDB).
    server.close(err => {
      if (err) process.stderr.write(`dynalite.js: close: ${err}\n`);
      process.exit(err ? 1 : 0);
    });
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  if (opts.stdinWatchdog) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }

  server.on('error', err => {
    process.stderr.write(`dynalite.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`ready ${server.address().port}\n`);
  });
}

main();
