/**
 * Stopping long commands cleanly. The first Ctrl-C (SIGINT), or a SIGTERM
 * (what `timeout`, systemd and Slurm send), asks the work to stop after the
 * current step, which then saves a checkpoint; a second signal quits at once.
 * After a SIGTERM the process exits with 143 (128 + 15) once it has saved, so
 * a scheduler sees that the job did not finish. `release()` removes the
 * handlers when the work is done.
 */
export function stopOnCtrlC(): { requested: () => boolean; release: () => void } {
  let requested = false;
  const handler = (signal: 'SIGINT' | 'SIGTERM') => () => {
    if (requested) process.exit(signal === 'SIGINT' ? 130 : 143);
    requested = true;
    if (signal === 'SIGTERM') process.exitCode = 143;
    const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'another signal';
    process.stderr.write(`\nhsm: ${signal}: stopping after this step and saving a checkpoint (${again} to quit now)\n`);
  };
  const onSigint = handler('SIGINT'),
    onSigterm = handler('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  return {
    requested: () => requested,
    release: () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    },
  };
}
