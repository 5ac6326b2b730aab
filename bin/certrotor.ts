import { runCli } from '../lambda/cli/program';

// The CLI composition root: the only place that reads process globals and the real clock.
// A reader that closes early (`certrotor status | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
void runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
  clock: () => new Date(),
  exitCode: 0,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  ...(process.stdout.columns ? { columns: process.stdout.columns } : {}),
  input: process.stdin,
  prompt: (text) => process.stderr.write(text),
  onInterrupt: (handler) => {
    let signals = 0;
    const listener = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        process.stderr.write(
          'certrotor: interrupted again: exiting now; `certrotor repair <name>` or the next run finishes or undoes the rotation\n',
        );
        process.exit(130);
      }
      handler(signal);
    };
    process.on('SIGINT', listener);
    process.on('SIGTERM', listener);
    return () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    };
  },
}).then((code) => {
  process.exitCode = code;
});
