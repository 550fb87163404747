// What the stand-in launchers (s3rver.js, dynalite.js) share: the command line (common flags,
// "--name value" and "--name=value", usage on error with exit status 2) and a clean stop on
// SIGTERM/SIGINT/SIGHUP (and on stdin EOF with --stdin-watchdog), forced after 3 s.
'use strict';

// parseArgs(prog, argv, usageText, defaults, flags): the options. flags maps a flag name to
// (opts, value) => void, where value() takes the flag's argument; --port, --host, --verbose/-v,
// --stdin-watchdog and --help/-h are built in, and --port is required (0 = any free port).
function parseArgs(prog, argv, usageText, defaults, flags) {
  const usage = msg => {
    if (msg) process.stderr.write(`${prog}: ${msg}\n`);
    process.stderr.write(usageText);
    process.exit(2);
  };
  const opts = { port: null, host: '127.0.0.1', verbose: false, stdinWatchdog: false, ...defaults };
  const common = {
    '--port': (o, value) => { o.port = Number(value()); },
    '--host': (o, value) => { o.host = value(); },
    '--verbose': o => { o.verbose = true; },
    '-v': o => { o.verbose = true; },
    '--stdin-watchdog': o => { o.stdinWatchdog = true; },
    '--help': () => usage(),
    '-h': () => usage(),
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
    const handler = flags[name] || common[name];
    if (!handler) usage(`unknown argument ${a}`);
    handler(opts, value, usage);
  }
  if (opts.port === null || !Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    usage('--port P is required (0 = any free port)');
  return { opts, usage };
}

// onStop(prog, opts, close): calls close() once on the first stop signal; the process exits
// when close() is done (its callback) or after 3 s regardless.
function onStop(prog, opts, close) {
  let stopping = false;
  const stop = why => {
    if (stopping) return;
    stopping = true;
    if (opts.verbose) process.stderr.write(`${prog}: stopping (${why})\n`);
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    close();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  if (opts.stdinWatchdog) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }
}

module.exports = { parseArgs, onStop };
