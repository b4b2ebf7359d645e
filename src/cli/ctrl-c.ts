/**
 * Stopping long commands cleanly. Once training has started, the first
 * Ctrl-C (SIGINT), SIGTERM (what `timeout`, systemd and Slurm send) or SIGHUP
 * (a closed terminal) asks the work to stop after the current step, which
 * then saves a checkpoint; a second signal quits at once. Before training
 * starts there is nothing to save, so a signal quits at once. Either way the
 * process ends with the conventional status, 128 + the signal's number
 * (130, 143, 129), so a scheduler sees that the job did not finish.
 * `release()` removes the handlers when the work is done.
 */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type Signal = keyof typeof SIGNALS;

export interface StopRequest {
  /** True once a signal asked the work to stop. */
  requested: () => boolean;
  /** Training has started: from now on a first signal stops after the step and saves. */
  training: () => void;
  release: () => void;
}

export function stopOnCtrlC(): StopRequest {
  let requested = false,
    training = false;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const signal = name as Signal;
    const handler = () => {
      if (requested || !training) process.exit(SIGNALS[signal]);
      requested = true;
      process.exitCode = SIGNALS[signal];
      const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'another signal';
      process.stderr.write(
        `\nhsm: ${signal}: stopping after this step and saving a checkpoint (${again} to quit now)\n`,
      );
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    requested: () => requested,
    training: () => {
      training = true;
    },
    release: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}
