#!/usr/bin/env node
// Launcher for s3rver, the local S3 stand-in used by the integration tests and scripts/stack.sh.
//
//   node scripts/stack/s3rver.js --port P --dir D [--host 127.0.0.1] [--bucket NAME ...]
//        [--access-key ID[:SECRET] ...] [--reset-on-close] [--vhost-buckets] [--verbose]
//        [--stdin-watchdog]
//
// Prints exactly one line "ready <port>" on stdout once listening (use --port 0 for any free
// port: the line tells which), logs (with --verbose) go to stderr, and stops cleanly on
// SIGTERM/SIGINT (and on stdin EOF with --stdin-watchdog, so it dies with the process that
// started it).
//
// What s3rver 3.7.1 checks: for SigV4 it only checks that the access key id is registered
// (S3RVER by default; --access-key registers more), that x-amz-content-sha256 is present and
// well-formed and that the date is within 15 minutes. It does NOT verify SigV4 signatures
// (tests/integration/awsproxy.py does that), Content-MD5 nor x-amz-checksum-*.
'use strict';

const fs = require('fs');
const path = require('path');
const { parseArgs, onStop } = require('./launcher');

const PROG = 's3rver.js';
const USAGE =
  'usage: node scripts/stack/s3rver.js --port P --dir D [--host H] [--bucket NAME ...]\n' +
  '       [--access-key ID[:SECRET] ...] [--reset-on-close] [--vhost-buckets] [--verbose]\n' +
  '       [--stdin-watchdog]\n';

const FLAGS = {
  '--dir': (o, value) => { o.dir = value(); },
  '--bucket': (o, value) => { o.buckets.push(value()); },
  '--access-key': (o, value) => { o.accessKeys.push(value()); },
  '--reset-on-close': o => { o.resetOnClose = true; },
  '--vhost-buckets': o => { o.vhostBuckets = true; },
};

async function main() {
  const { opts, usage } = parseArgs(PROG, process.argv.slice(2), USAGE, {
    dir: null, buckets: [], accessKeys: [], resetOnClose: false, vhostBuckets: false,
  }, FLAGS);
  if (!opts.dir) usage('--dir D is required');
  const S3rver = require('s3rver');
  const AWSAccount = require('s3rver/lib/models/account');

  // s3rver knows one account; register extra key ids on it so their requests are not refused
  // with InvalidAccessKeyId. The secret only matters for SigV2 (which s3rver does verify).
  for (const spec of opts.accessKeys) {
    const i = spec.indexOf(':');
    const id = i < 0 ? spec : spec.slice(0, i);
    const secret = i < 0 ? 'S3RVER' : spec.slice(i + 1);
    if (!id) usage('--access-key needs an id');
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(id, secret);
  }

  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });

  const server = new S3rver({
    address: opts.host,
    port: opts.port,
    directory: dir,
    silent: !opts.verbose,
    resetOnClose: opts.resetOnClose,
    // SigV4 signatures are never checked by s3rver; this only relaxes its SigV2 check.
    allowMismatchedSignatures: true,
    // Path-style only by default: with vhost buckets on, any Host that is not an IP address or
    // "localhost" is taken as a bucket name.
    vhostBuckets: opts.vhostBuckets,
    configureBuckets: opts.buckets.map(name => ({ name })),
  });

  const addr = await server.run();
  const httpServer = server.httpServer;
  httpServer.keepAliveTimeout = 30000;

  onStop(PROG, opts, () => {
    httpServer.close(() => process.exit(0));
    if (typeof httpServer.closeAllConnections === 'function') httpServer.closeAllConnections();
  });

  process.stdout.write(`ready ${addr.port}\n`);
}

main().catch(err => {
  process.stderr.write(`s3rver.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
