import { Option, type Command } from 'commander';
import { UserError } from '../errors.js';
import type { TorchEngineOptions } from '../train/torch-launch.js';
import { integerIn } from './arguments.js';

/** Flags of `--engine torch` (train and compare): PyTorch data parallel on this machine or several. */
export interface EngineFlags {
  engine: 'native' | 'torch';
  nproc?: number;
  device?: 'cpu' | 'cuda';
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
}

export function addEngineOptions(cmd: Command, { multiNode }: { multiNode: boolean }): Command {
  cmd
    .addOption(
      new Option('--engine <name>', 'native (this package) or torch (PyTorch data parallel, python/hsm_torch)')
        .choices(['native', 'torch'])
        .default('native'),
    )
    .option('--nproc <n>', 'torch engine: processes on this machine (GPUs with --device cuda)', integerIn(1, 1024))
    .addOption(new Option('--device <kind>', 'torch engine: cpu (gloo) or cuda (NCCL)').choices(['cpu', 'cuda']));
  if (multiNode)
    cmd
      .option('--nnodes <n>', 'torch engine: machines in the job', integerIn(1, 65536))
      .option(
        '--node-rank <r>',
        "torch engine: this machine's place, 0 to nnodes−1 (0 writes the run folder)",
        integerIn(0, 65535),
      )
      .option('--master-addr <host>', "torch engine: address of node 0 (the job's rendezvous)")
      .option('--master-port <port>', 'torch engine: port of the rendezvous on node 0', integerIn(1, 65535));
  return cmd;
}

/** The torch engine's options, or undefined for the native engine; torch-only flags without it are an error. */
export function torchEngineOptions(flags: EngineFlags): TorchEngineOptions | undefined {
  const torchOnly = (['nproc', 'device', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort'] as const).filter(
    (k) => flags[k] !== undefined,
  );
  if (flags.engine !== 'torch') {
    if (torchOnly.length)
      throw new UserError(`--${kebab(torchOnly[0])} applies to --engine torch only; add --engine torch or drop it`);
    return undefined;
  }
  const nnodes = flags.nnodes ?? 1;
  const nodeRank = flags.nodeRank ?? 0;
  if (nodeRank >= nnodes) throw new UserError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  if (nnodes > 1 && (flags.masterAddr === undefined || flags.masterPort === undefined))
    throw new UserError(
      `--nnodes ${nnodes} needs --master-addr and --master-port: where node 0 listens for the other machines`,
    );
  if (flags.masterAddr === '') throw new UserError('--master-addr needs a host name or address');
  return {
    nproc: flags.nproc ?? 1,
    device: flags.device ?? 'cpu',
    nnodes,
    nodeRank,
    masterAddr: flags.masterAddr,
    masterPort: flags.masterPort,
  };
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
