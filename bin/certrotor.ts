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
}).then((code) => {
  process.exitCode = code;
});
