/**
 * Ctrl-C for long commands: the first press asks the work to stop after the
 * current step (it then saves a checkpoint); a second press quits at once.
 * `release()` removes the handler when the work is done.
 */
export function stopOnCtrlC(): { requested: () => boolean; release: () => void } {
  let requested = false;
  const onSigint = () => {
    if (requested) process.exit(130);
    requested = true;
    process.stderr.write('\nhsm: stopping after this step and saving a checkpoint (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  return { requested: () => requested, release: () => process.off('SIGINT', onSigint) };
}
