// What a grid file may say (zod schemas); grid.ts validates and expands it.
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

const GridModelSchema = z
  .object({
    /** Short name used in tables, charts and run folders. */
    name: z.string().regex(NAME, 'use letters, digits and _ . + - (it names folders)'),
    /** Layer plan; "{levels}" stands for ⌈log2 context⌉, the pow2 depth that covers the context. */
    plan: z.string().min(1),
    matchParams: z.string().min(1).optional(),
    /** Other model fields for this model only (schedule, hsmHeads, positions, blockSize, …). */
    model: z.record(z.unknown()).optional(),
    /** Training options for this model only (e.g. batchSize, to keep the tokens per step equal across contexts). */
    train: z.record(z.unknown()).optional(),
    note: z.string().optional(),
    /**
     * With a sweep: models of one family compete in it, and only the family's
     * best (model and settings) trains at the budgets. Default: its own name.
     */
    family: z.string().regex(NAME, 'use letters, digits and _ . + - (it names folders)').optional(),
    /**
     * With a sweep: this model's peak learning rates, in place of the sweep's
     * (e.g. one more value where its best sat at the edge of the grid's).
     */
    sweepLr: z.array(z.number().positive().max(10)).min(1).max(16).optional(),
    /**
     * The model this one's loss is compared with in the results table (default: the grid's baseline), e.g. the
     * attention model at the same context when the grid spans several.
     */
    baseline: z.string().optional(),
  })
  .strict();

/**
 * Training settings tried per model before the grid's runs (every
 * combination, at the sweep's own training fields, e.g. the smallest budget).
 * Each family keeps the combination with the lowest final validation loss,
 * and its runs at every budget train with it.
 */
const SweepSchema = z
  .object({
    /** Peak learning rates; each run's minLr is lr × minLrFraction. Optional when every model gives its sweepLr. */
    lr: z.array(z.number().positive().max(10)).min(1).max(16).optional(),
    minLrFraction: z.number().min(0).max(1).default(0.1),
    /** Sequences per micro-batch (default: the grid's). */
    batchSize: z.array(positiveInt).min(1).max(8).optional(),
    /** Training fields of the sweep's runs, over the grid's (e.g. a budget). */
    train: z.record(z.unknown()).default({}),
    /** Seeds of the sweep's runs (default: the grid's first seed). */
    seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
  })
  .strict();

/** A compute budget of the grid: every model trains for these FLOPs (steps and schedule follow), with these seeds. */
const BudgetSchema = z
  .object({
    flops: z.number().positive().max(1e24),
    /** Default: the grid's seeds. */
    seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
  })
  .strict();

/**
 * The recall task (MQAR). The generator's options default to the Zoology
 * study's settings (src/data/mqar-zoology.ts says what each one does);
 * "legacy" reproduces the sequences of the results committed before them.
 */
const RecallSchema = z
  .object({
    /** "zoology" (default) or "legacy" (values with replacement, uniform queries, answers in the input). */
    generator: z.enum(['zoology', 'legacy']).default('zoology'),
    /** Zoology: 8,192. */
    vocabSize: z.number().int().min(5).max(65536).default(8192),
    /** Zoology generator only: query placement exponent (Zoology 0.01; 1 is uniform). */
    powerA: z.number().gt(0).max(1).optional(),
    /** Zoology generator only: values distinct within a sequence (Zoology: true). */
    distinctValues: z.boolean().optional(),
    /** Zoology generator only: keys and values from separate halves of the vocabulary (Zoology: true). */
    separateRanges: z.boolean().optional(),
    /** Zoology generator only: write each answer into the input after its query (Zoology: false). */
    answerInInput: z.boolean().optional(),
    /** Zoology generator only: random tokens instead of filler (Zoology's generator: true; its Figure 2: false). */
    fillerNoise: z.boolean().optional(),
    /** Each length may set its own batch size (e.g. to keep the tokens per step equal). */
    lengths: z
      .array(
        z
          .object({
            context: positiveInt,
            /** Default: Zoology's context / 16 (4, 8, 16 pairs at 64, 128, 256 tokens). */
            pairs: positiveInt.optional(),
            /** Legacy generator only. */
            queries: positiveInt.optional(),
            batchSize: positiveInt.optional(),
            /** Micro-batches per step at this length (sequences per step = batchSize × gradAccum). */
            gradAccum: positiveInt.optional(),
            /** Shorter instances mixed into training (as Zoology trains on several lengths); held-out stays full size. */
            mix: z.array(z.object({ context: positiveInt, pairs: positiveInt }).strict()).optional(),
          })
          .strict(),
      )
      .min(1),
    heldOutSequences: positiveInt.default(512),
    heldOutSeed: z.number().int().nonnegative().default(90_001),
  })
  .strict();

const EvalSchema = z
  .object({
    /** Positions at which generation speed is timed (default: 8, the middle and the end of the context). */
    decodePositions: z.array(positiveInt).min(1).optional(),
    /** Sequences decoded per timing (the median is kept). */
    decodeRepeats: positiveInt.default(3),
    sampleTokens: z.number().int().nonnegative().default(300),
    samplePrompt: z.string().default('\n'),
    temperature: z.number().nonnegative().default(0.8),
    sampleSeed: z.number().int().nonnegative().default(42),
  })
  .strict();

export const GridSchema = z
  .object({
    description: z.string().default(''),
    /** A training preset the `train` fields override (e.g. shakespeare-char-cpu). */
    preset: z.string().optional(),
    /** Training options shared by every run: `hsm train` config keys, model fields under "model". */
    train: z.record(z.unknown()).default({}),
    /** The synthetic recall task (MQAR) at each length, instead of a text corpus. */
    recall: RecallSchema.optional(),
    models: z.array(GridModelSchema).min(1),
    sweep: SweepSchema.optional(),
    /** Compute budgets: one complete run per budget, model and seed (a compute curve), instead of train's budget. */
    budgets: z.array(BudgetSchema).min(1).max(16).optional(),
    /** The model the others are compared with (default: the first). */
    baseline: z.string().optional(),
    seeds: z.array(z.number().int().nonnegative()).min(1),
    eval: EvalSchema.default({}),
  })
  .strict();

export type GridInput = z.input<typeof GridSchema>;
export type GridModel = z.infer<typeof GridModelSchema>;
export type EvalSettings = z.infer<typeof EvalSchema>;
export type SweepSettings = z.infer<typeof SweepSchema>;
export type GridBudget = z.infer<typeof BudgetSchema>;
export type GridFields = z.infer<typeof GridSchema>;
