// Mutation families of config.json: the train, model and tokenizer sections, edits of both, and the whole file.
import { TrainConfigSchema } from '../../src/train/config.js';
import { FIXED_TRAIN_KEYS } from '../../src/train/run-config.js';
import { clone, type Json } from './json.js';
import { randInt, shuffle, subRand, type Rand } from './random.js';
import { CONFIG, type Candidate, type Expectation, type FileEdit, type RunFiles } from './types.js';

/** Whether a train section passes the training schema (then an edit of it is well-formed). */
function trainSectionValid(train: unknown): boolean {
  try {
    return TrainConfigSchema.safeParse(train).success;
  } catch {
    return false; // a transform (the plan parser) threw: not valid
  }
}

export function configFamilies(files: RunFiles, seed: number): Record<string, Candidate[]> {
  const text = files[CONFIG].toString('utf8');
  const base = JSON.parse(text) as { train: Json & { model: Json }; model: Json; tokenizer: Json; format: string };
  const write = (c: unknown) => ({ [CONFIG]: Buffer.from(JSON.stringify(c, null, 2) + '\n') });
  const kinds: [string, unknown][] = [
    ['"abc"', 'abc'],
    ['true', true],
    ['null', null],
    ['[]', []],
    ['{}', {}],
    ['-1', -1],
    ['0', 0],
    ['1e12', 1e12],
    ['1.5', 1.5],
    ['removed', 'REMOVE'],
  ];
  const setKey = (obj: Json, key: string, v: unknown) => {
    if (v === 'REMOVE') delete obj[key];
    else obj[key] = v;
  };
  // Pairs of (key, kind), shuffled, then ordered so that the first pass touches every key once.
  const spread = (r: Rand, keys: string[], ks: [string, unknown][]) => {
    const pairs = shuffle(
      r,
      keys.flatMap((k) => ks.map((kind) => [k, kind] as [string, [string, unknown]])),
    );
    const seen = new Map<string, number>();
    return pairs
      .map((p) => {
        const n = seen.get(p[0]) ?? 0;
        seen.set(p[0], n + 1);
        return { p, n };
      })
      .sort((a, b) => a.n - b.n)
      .map((x) => x.p);
  };

  const train: Candidate[] = spread(subRand(seed, 'config:train'), Object.keys(base.train), kinds).map(
    ([key, [what, v]]) => {
      const c = clone(base);
      setKey(c.train, key, v);
      // A run keeps its fixed settings: a well-formed edit of one must be refused (or change nothing, like removing a default).
      const fixed = (FIXED_TRAIN_KEYS as readonly string[]).includes(key);
      return {
        description: `${CONFIG}: train.${key} ${v === 'REMOVE' ? 'removed' : `set to ${what}`}`,
        expect: !trainSectionValid(c.train) ? 'strict' : fixed ? 'damage' : 'valid-edit',
        make: () => write(c),
      };
    },
  );
  for (const [key, value] of [
    ['gradAccum', 2],
    ['batchSize', 8],
    ['seed', 7],
  ] as const) {
    const c = clone(base);
    c.train[key] = value;
    // Third and on: the first two stay the mutants the bounded suite takes first.
    train.splice(2, 0, {
      description: `${CONFIG}: train.${key} set to ${value} (a setting the run keeps; well-formed)`,
      expect: 'strict',
      make: () => write(c),
    });
  }
  {
    const c = clone(base);
    (c.train as Json).nope = 1;
    train.unshift({ description: `${CONFIG}: unknown key train.nope added`, expect: 'strict', make: () => write(c) });
  }
  const modelKinds: [string, unknown][] = [...kinds, ['another number', 'OTHER']];
  const model: Candidate[] = spread(subRand(seed, 'config:model'), Object.keys(base.model), modelKinds).map(
    ([key, [, v]]) => {
      const c = clone(base);
      const value =
        v === 'OTHER' ? (typeof base.model[key] === 'number' ? (base.model[key] as number) * 2 + 2 : 'pow2-heads') : v;
      setKey(c.model, key, value);
      return {
        description: `${CONFIG}: model.${key} ${v === 'REMOVE' ? 'removed' : `set to ${JSON.stringify(value)}`} (train section left as it was)`,
        expect: 'strict',
        make: () => write(c),
      };
    },
  );
  {
    const c = clone(base);
    c.model.nope = 1;
    model.unshift({ description: `${CONFIG}: unknown key model.nope added`, expect: 'strict', make: () => write(c) });
  }
  // The same edit in both sections, so that they agree: only range checks and the weights can object.
  const consistentValues: [string, unknown][] = [
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['1e12', 1e12],
    ['"abc"', 'abc'],
    ['100000', 100000],
    ['3', 3],
    ['64', 64],
  ];
  const consistent: Candidate[] = spread(
    subRand(seed, 'config:consistent'),
    ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout'],
    consistentValues,
  ).map(([key, [what, v]]) => {
    const c = clone(base);
    c.train.model[key] = v;
    c.model[key] = v;
    return {
      description: `${CONFIG}: ${key} set to ${what} in both train.model and model`,
      expect: 'strict', // the model is a setting the run keeps
      make: () => write(c),
    };
  });
  for (const [what, plan] of [
    ['"attn*2" (the same model, spelled out)', 'attn*2'],
    ['"hsm:nope"', 'hsm:nope'],
    ['"attn*100000"', 'attn*100000'],
    ['"hsm:ab*2" (another model)', 'hsm:ab*2'],
  ]) {
    const c = clone(base);
    c.train.model.plan = plan;
    c.model.plan = plan;
    consistent.push({
      description: `${CONFIG}: plan ${what} in both sections`,
      expect: 'strict', // the model is a setting the run keeps
      make: () => write(c),
    });
  }
  shuffle(subRand(seed, 'config:consistent:plans'), consistent);

  const vocab = String(base.tokenizer.vocab ?? '');
  const tok = (what: string, edit: (c: typeof base) => void, expect: Expectation = 'strict'): Candidate => {
    const c = clone(base);
    edit(c);
    return { description: `${CONFIG}: tokenizer ${what}`, expect, make: () => write(c) };
  };
  const tokenizer: Candidate[] = [
    tok('kind "byte"', (c) => (c.tokenizer.kind = 'byte')),
    tok('kind "gpt2"', (c) => (c.tokenizer.kind = 'gpt2')),
    tok('kind "nope"', (c) => (c.tokenizer.kind = 'nope')),
    tok('kind 5', (c) => (c.tokenizer.kind = 5)),
    tok('kind removed', (c) => delete c.tokenizer.kind),
    tok('vocab removed', (c) => delete c.tokenizer.vocab),
    tok('vocab without its last character', (c) => (c.tokenizer.vocab = vocab.slice(0, -1))),
    tok('vocab with one more character', (c) => (c.tokenizer.vocab = vocab + '~')),
    tok('vocab with a duplicated character', (c) => (c.tokenizer.vocab = vocab.slice(0, -1) + vocab[0])),
    tok(
      'vocab reversed (same characters, other ids)',
      (c) => (c.tokenizer.vocab = [...vocab].reverse().join('')),
      'damage',
    ),
    tok(
      'vocab with two characters exchanged',
      (c) => {
        const v = [...vocab];
        [v[10], v[11]] = [v[11], v[10]];
        c.tokenizer.vocab = v.join('');
      },
      'damage',
    ),
    tok('vocab a number', (c) => (c.tokenizer.vocab = 65)),
    tok('vocab an array of characters', (c) => (c.tokenizer.vocab = [...vocab])),
    tok('vocab empty', (c) => (c.tokenizer.vocab = '')),
    tok('section removed', (c) => delete (c as Partial<typeof base>).tokenizer),
    tok('section "char" (a string)', (c) => ((c as Json).tokenizer = 'char')),
    tok('section null', (c) => ((c as Json).tokenizer = null)),
    tok('with an unknown key', (c) => (c.tokenizer.nope = 1)),
  ];
  shuffle(subRand(seed, 'config:tokenizer'), tokenizer);

  const r = subRand(seed, 'config:file');
  const raw = (what: string, b: FileEdit): Candidate => ({
    description: `${CONFIG} ${what}`,
    expect: 'strict',
    make: () => ({ [CONFIG]: b }),
  });
  const whole: Candidate[] = [];
  const vocabAt = text.indexOf('"vocab": "') + '"vocab": "'.length;
  const invalidUtf8 = Buffer.concat([
    Buffer.from(text.slice(0, vocabAt)),
    Buffer.from([0xff]),
    Buffer.from(text.slice(vocabAt)),
  ]);
  for (let i = 0; i < 8; i++) {
    const at = randInt(r, text.length);
    whole.push(raw(`truncated to ${at} of ${text.length} characters`, Buffer.from(text.slice(0, at))));
  }
  const edited = (what: string, edit: (c: Json) => void) => {
    const c = clone(base) as unknown as Json;
    edit(c);
    whole.push({ description: `${CONFIG}: ${what}`, expect: 'strict', make: () => write(c) });
  };
  whole.push(
    raw('empty', Buffer.alloc(0)),
    raw('not JSON', Buffer.from('garbage\n')),
    raw('"null"', Buffer.from('null')),
    raw('"[]"', Buffer.from('[]')),
    raw('"42"', Buffer.from('42')),
    raw('a JSON string', Buffer.from('"config"')),
    raw('with a byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), files[CONFIG]])),
    raw('with trailing garbage', Buffer.concat([files[CONFIG], Buffer.from('}garbage')])),
    raw('with an invalid UTF-8 byte (0xff) in the vocabulary', invalidUtf8),
    raw('nested 100000 deep', Buffer.from('['.repeat(100000) + ']'.repeat(100000))),
    raw('removed', null),
    raw('a directory', 'dir'),
  );
  edited('runId of another run', (c) => (c.runId = '0123456789abcdef0123456789abcdef'));
  edited('runId removed', (c) => delete c.runId);
  edited('runId "x"', (c) => (c.runId = 'x'));
  edited('format "hsm-checkpoint/2"', (c) => (c.format = 'hsm-checkpoint/2'));
  edited('format removed', (c) => delete c.format);
  edited('format 1', (c) => (c.format = 1));
  edited('train section removed', (c) => delete c.train);
  edited('model section removed', (c) => delete c.model);
  edited('train section an array', (c) => (c.train = []));
  edited('model section null', (c) => (c.model = null));
  edited('an empty object', (c) => {
    for (const k of Object.keys(c)) delete c[k];
  });
  shuffle(r, whole);
  return {
    'config:train': train,
    'config:model': model,
    'config:consistent': consistent,
    'config:tokenizer': tokenizer,
    'config:file': whole,
  };
}
