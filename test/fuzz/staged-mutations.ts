// Mutations of the staged optimizer.next.safetensors a save leaves behind, and of stale temporary files.
import { pick, randInt, subRand } from './random.js';
import { flipBit, joinSafetensors, offsets, splitSafetensors } from './safetensors.js';
import { MODEL, OPTIMIZER, STAGED, type Candidate, type RunFiles } from './types.js';

/** The staged optimizer file a save leaves while it writes the weights, and stale temporary files. */
export function stagedFamily(files: RunFiles, seed: number): Candidate[] {
  const r = subRand(seed, 'staged');
  const opt = files[OPTIMIZER];
  const st = splitSafetensors(opt);
  const withMeta = (m: Record<string, unknown>, data = st.data) =>
    joinSafetensors({ ...st.header, __metadata__: { ...(st.header.__metadata__ as object), ...m } }, data);
  const olderMain = withMeta({ step: '10' }); // the main optimizer file of the previous save
  const name = pick(r, st.names);
  const nan = Buffer.from(st.data);
  nan.writeFloatLE(NaN, offsets(st.header, name)[0]);
  const flipped = flipBit(st.data, randInt(r, st.data.length >> 2) * 4 + 1, 3);
  const cut = 8 + randInt(r, opt.length - 8);
  const headerFlip = flipBit(opt, 8 + randInt(r, st.headerLength), 2);
  return [
    {
      description: `${STAGED} truncated (${cut} bytes), main optimizer intact`,
      make: () => ({ [STAGED]: opt.subarray(0, cut) }),
    },
    {
      description: `${STAGED} with a flipped header byte, main optimizer intact`,
      make: () => ({ [STAGED]: headerFlip }),
    },
    { description: `${STAGED} holds text, main optimizer intact`, make: () => ({ [STAGED]: Buffer.from('garbage') }) },
    { description: `${STAGED} is a directory`, make: () => ({ [STAGED]: 'dir' }) },
    {
      description: `${STAGED} = the step-20 state, ${OPTIMIZER} from step 10 (killed after the commit: must take over)`,
      make: () => ({ [STAGED]: opt, [OPTIMIZER]: olderMain }),
    },
    {
      description: `${STAGED} step 20 holding NaN, ${OPTIMIZER} from step 10`,
      make: () => ({ [STAGED]: joinSafetensors(st.header, nan), [OPTIMIZER]: olderMain }),
    },
    {
      description: `${STAGED} step 20 with a flipped data bit, ${OPTIMIZER} from step 10`,
      make: () => ({ [STAGED]: joinSafetensors(st.header, flipped), [OPTIMIZER]: olderMain }),
    },
    {
      description: `${STAGED} step 20 with rng "abc", ${OPTIMIZER} from step 10`,
      expect: 'strict',
      make: () => ({ [STAGED]: withMeta({ rng: 'abc' }), [OPTIMIZER]: olderMain }),
    },
    {
      description: `${STAGED} truncated, ${OPTIMIZER} removed`,
      make: () => ({ [STAGED]: opt.subarray(0, cut), [OPTIMIZER]: null }),
    },
    {
      description: `${STAGED} = the step-20 state, ${OPTIMIZER} removed`,
      make: () => ({ [STAGED]: opt, [OPTIMIZER]: null }),
    },
    {
      description: `${STAGED} from step 10 (an uncommitted older save), main intact`,
      make: () => ({ [STAGED]: olderMain }),
    },
    {
      description: `${STAGED} step "abc", ${OPTIMIZER} from step 10`,
      make: () => ({ [STAGED]: withMeta({ step: 'abc' }), [OPTIMIZER]: olderMain }),
    },
    {
      description: `stale temporary .${OPTIMIZER}.12345.tmp holding garbage`,
      make: () => ({ [`.${OPTIMIZER}.12345.tmp`]: Buffer.from('garbage') }),
    },
    {
      description: `stale temporary .${MODEL}.1.tmp that is a directory`,
      make: () => ({ [`.${MODEL}.1.tmp`]: 'dir' }),
    },
  ];
}
