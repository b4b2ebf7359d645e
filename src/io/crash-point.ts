/**
 * A test hook for crash consistency: with HSM_CRASH_AT=<label>, the process
 * kills itself (SIGKILL, as the OOM killer would) when it reaches the point
 * of that name, e.g. "model.safetensors:written@7" (the weights of step 7
 * are on disk under their temporary name, not yet renamed). The tests use it
 * to stop a real trainer at every phase of a checkpoint save; unset, it
 * costs one comparison per write.
 */
export function crashPoint(label: string): void {
  if (process.env.HSM_CRASH_AT === label) process.kill(process.pid, 'SIGKILL');
}
