import type { FloatArray } from '../backend/kernels.js';
import { BufferPool } from '../tensor/buffer-pool.js';
import { returnTemporaries } from '../tensor/scratch-arena.js';
import { setTemporaryOwner, type TemporaryOwner, type Tensor } from '../tensor/tensor.js';

interface Node {
  output: Tensor;
  backward: () => void;
}

let current: Tape | null = null;

/** The tape that is recording now, if any. */
export function activeTape(): Tape | null {
  return current;
}

/**
 * Reverse-mode autograd, recorded as a list of closures.
 *
 * Usage for one training step:
 *   const loss = tape.record(() => model.loss(batch));   // forward, recorded
 *   tape.backward(loss);                                  // gradients into parameters
 *   optimizer.step(); tape.release();                     // buffers back to the pool
 *
 * Every op writes its forward result into a tensor from this tape's pool and
 * pushes a closure that turns the output's gradient into its inputs'
 * gradients. Ops only record when some input requires a gradient.
 */
export class Tape implements TemporaryOwner {
  private nodes: Node[] = [];
  private temporaries: Tensor[] = [];
  readonly pool: BufferPool;

  constructor(pool: BufferPool = new BufferPool()) {
    this.pool = pool;
  }

  /** Runs fn with this tape recording (tapes do not nest). */
  record<T>(fn: () => T): T {
    if (current) throw new Error('a tape is already recording');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the module-level slot is how ops find the recording tape
    current = this;
    setTemporaryOwner(this);
    try {
      return fn();
    } finally {
      current = null;
      setTemporaryOwner(null);
    }
  }

  /** Called by ops: remember how to push output's gradient back to its inputs. */
  push(output: Tensor, backward: () => void): void {
    output.requiresGrad = true;
    this.nodes.push({ output, backward });
  }

  track(t: Tensor): void {
    this.temporaries.push(t);
  }

  /** Back-propagates from a scalar loss (seed gradient 1, or `seed` if given). */
  backward(loss: Tensor, seed?: FloatArray): void {
    const g = loss.ensureGrad();
    if (seed) g.set(seed);
    else if (loss.size === 1) g[0] += 1;
    else throw new Error(`backward() from a tensor of shape [${loss.shape.join(', ')}] needs a seed gradient`);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (node.output.grad) node.backward();
    }
  }

  /** Returns every temporary buffer to the pool; the tape can record again. */
  release(): void {
    returnTemporaries(this.temporaries, this.pool);
    this.temporaries = [];
    this.nodes = [];
  }
}

/** Whether an op on these inputs must be recorded. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return current !== null && inputs.some((t) => t?.requiresGrad);
}

/** The gradient buffer to accumulate into, or null when t needs none. */
export function gradOf(t: Tensor | null | undefined): FloatArray | null {
  return t && t.requiresGrad ? t.ensureGrad() : null;
}
