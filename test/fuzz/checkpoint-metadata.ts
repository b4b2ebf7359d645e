// Whether a checkpoint's __metadata__ value has the form saveCheckpoint writes (well-formed vs malformed edits).

/** Whether a metadata value has the form saveCheckpoint writes for its key. */
export function wellFormedMetadata(key: string, v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const json = (): unknown => {
    try {
      return JSON.parse(v);
    } catch {
      return undefined;
    }
  };
  switch (key) {
    case 'step':
    case 'optimizerStep':
      return /^(0|[1-9][0-9]*)$/.test(v);
    case 'format':
      return v === 'hsm-checkpoint/1';
    case 'rng': {
      const r = json();
      return (
        Array.isArray(r) && r.length === 4 && r.every((x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 32)
      );
    }
    case 'bestValLoss': {
      const b = json();
      return b === null || (typeof b === 'number' && Number.isFinite(b) && b >= 0);
    }
    case 'run_id':
    case 'fixed_config':
      return false; // they tie the file to config.json: any edit mixes two runs
    case 'elapsedS':
      return /^[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$/i.test(v) && Number.isFinite(Number(v));
    default:
      return false;
  }
}
