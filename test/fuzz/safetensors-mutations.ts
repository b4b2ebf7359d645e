// Mutation families of model.safetensors and optimizer.safetensors: truncation, bit flips, header, metadata, NaN.
import { wellFormedMetadata } from './checkpoint-metadata.js';
import { pick, randInt, shuffle, subRand } from './random.js';
import {
  editHeader,
  elementCount,
  flipBit,
  joinSafetensors,
  offsets,
  setFloat,
  splitSafetensors,
  type Entry,
} from './safetensors.js';
import type { Json } from './json.js';
import { MODEL, type Candidate, type Expectation } from './types.js';

export function safetensorsFamilies(file: string, buf: Buffer, seed: number): Record<string, Candidate[]> {
  const prefix = file === MODEL ? 'model' : 'optimizer';
  const st = splitSafetensors(buf);
  const hl = st.headerLength;
  const len = buf.length;
  const fam = (name: string) => subRand(seed, `${prefix}:${name}`);
  const one = (b: Buffer | null | 'dir') => () => ({ [file]: b });
  const fams: Record<string, Candidate[]> = {};

  // Truncation: in the length field, the header, exactly at the data, inside the data.
  {
    const r = fam('truncate');
    const points = [0, 4, 7, 8, 8 + (hl >> 1), 8 + hl - 1, 8 + hl, 8 + hl + 1, len - 1, len - 4];
    for (let i = 0; i < 20; i++) points.push(randInt(r, len));
    fams.truncate = points.map((at) => ({
      description: `${file} truncated to ${at} of ${len} bytes`,
      make: () => ({ [file]: buf.subarray(0, at) }),
    }));
  }
  // Single bit flips in the JSON header and in the tensor bytes (some in float exponents).
  {
    const r = fam('flip-header');
    fams['flip-header'] = Array.from({ length: 30 }, () => {
      const pos = 8 + randInt(r, hl),
        bit = randInt(r, 8);
      return {
        description: `${file}: bit ${bit} of header byte ${pos} flipped ("${String.fromCharCode(buf[pos])}"→"${String.fromCharCode(buf[pos] ^ (1 << bit))}")`,
        make: () => ({ [file]: flipBit(buf, pos, bit) }),
      };
    });
  }
  {
    const r = fam('flip-data');
    fams['flip-data'] = Array.from({ length: 30 }, (_, i) => {
      // Every third flip hits a float's top byte (sign and exponent), the others any bit.
      const pos = i % 3 === 0 ? 8 + hl + 4 * randInt(r, (len - 8 - hl) / 4) + 3 : 8 + hl + randInt(r, len - 8 - hl);
      const bit = i % 3 === 0 ? 4 + randInt(r, 3) : randInt(r, 8);
      return {
        description: `${file}: bit ${bit} of data byte ${pos - 8 - hl} flipped`,
        make: () => ({ [file]: flipBit(buf, pos, bit) }),
      };
    });
  }
  // The 8-byte header length.
  {
    const values: [string, bigint][] = [
      ['0', 0n],
      ['1', 1n],
      ['7', 7n],
      ['header-1', BigInt(hl - 1)],
      ['header+1', BigInt(hl + 1)],
      ['header+8', BigInt(hl + 8)],
      ['file size - 8 (all header)', BigInt(len - 8)],
      ['file size', BigInt(len)],
      ['2^32 + header', 2n ** 32n + BigInt(hl)],
      ['2^53', 2n ** 53n],
      ['2^63', 2n ** 63n],
      ['2^64 - 1', 2n ** 64n - 1n],
    ];
    fams['header-length'] = values.map(([what, v]) => ({
      description: `${file}: header length field set to ${what}`,
      make: () => {
        const out = Buffer.from(buf);
        out.writeBigUInt64LE(v);
        return { [file]: out };
      },
    }));
  }
  // dtype, shape, data_offsets of one tensor.
  {
    const r = fam('dtype');
    const dtypes: unknown[] = ['F64', 'I32', 'F16', 'BF16', 'f32', 'U8', 'I64', 5, null, 'REMOVE'];
    fams.dtype = dtypes.map((d) => {
      const name = pick(r, st.names);
      return {
        description: `${file}: dtype of "${name}" ${d === 'REMOVE' ? 'removed' : `set to ${JSON.stringify(d)}`}`,
        make: one(
          editHeader(st, (h) => {
            const e = h[name] as Entry;
            if (d === 'REMOVE') delete e.dtype;
            else e.dtype = d;
          }),
        ),
      };
    });
  }
  {
    const r = fam('shape');
    const variants: [string, (s: number[]) => unknown][] = [
      ['reversed', (s) => [...s].reverse()],
      ['with a trailing 1', (s) => [...s, 1]],
      ['flattened', (s) => [s.reduce((a, b) => a * b, 1)]],
      ['first dim negated', (s) => [-s[0], ...s.slice(1)]],
      ['first dim 1.5', (s) => [1.5, ...s.slice(1)]],
      ['first dim a string', (s) => [String(s[0]), ...s.slice(1)]],
      ['scalar []', () => []],
      ['[0]', () => [0]],
      ['first dim doubled', (s) => [2 * s[0], ...s.slice(1)]],
      ['[2^31, 2^31]', () => [2 ** 31, 2 ** 31]],
      ['[2^32]', () => [2 ** 32]],
      ['[1e300]', () => [1e300]],
      ['nine dims of 1 then the shape', (s) => [1, 1, 1, 1, 1, 1, 1, 1, 1, ...s]],
      ['"abc"', () => 'abc'],
      ['null entries', (s) => s.map(() => null)],
      ['removed', () => 'REMOVE'],
    ];
    // "reversed" needs a tensor whose reversed shape differs.
    const matrices = st.names.filter((n) => {
      const s = (st.header[n] as Entry).shape as number[];
      return s.length >= 2 && s[0] !== s[s.length - 1];
    });
    fams.shape = variants.map(([what, f]) => {
      const name = pick(r, what === 'reversed' && matrices.length ? matrices : st.names);
      return {
        description: `${file}: shape of "${name}" ${what}`,
        make: one(
          editHeader(st, (h) => {
            const e = h[name] as Entry;
            const v = f(e.shape as number[]);
            if (v === 'REMOVE') delete e.shape;
            else e.shape = v;
          }),
        ),
      };
    });
  }
  {
    const r = fam('offsets');
    const dataLen = st.data.length;
    const cands: Candidate[] = [];
    const at = (what: string, edit: (h: Record<string, unknown>, name: string, i: number) => void, data?: Buffer) => {
      const i = randInt(r, st.names.length),
        name = st.names[i];
      cands.push({
        description: `${file}: data_offsets of "${name}" ${what}`,
        make: one(editHeader(st, (h) => edit(h, name, i), data)),
      });
    };
    const set = (h: Record<string, unknown>, name: string, v: unknown) => ((h[name] as Entry).data_offsets = v);
    const get = (h: Record<string, unknown>, name: string) => offsets(h, name);
    at('pointing into the header (negative, by the header length)', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [b - hl - 8, e - hl - 8]);
    });
    at('negative begin', (h, n) => set(h, n, [-4, get(h, n)[1]]));
    at('shifted back 4 bytes (overlapping the previous tensor)', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [b - 4, e - 4]);
    });
    at('shifted forward 4 bytes (overlapping the next one or past the end)', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [b + 4, e + 4]);
    });
    // A gap: this tensor and all later ones move 8 bytes on, with 8 zero bytes inserted before it.
    {
      const i = 1 + randInt(r, st.names.length - 1),
        name = st.names[i],
        start = get(st.header, name)[0];
      const data = Buffer.concat([st.data.subarray(0, start), Buffer.alloc(8), st.data.subarray(start)]);
      cands.push({
        description: `${file}: 8-byte gap before "${name}" (later tensors moved, data intact)`,
        make: one(
          editHeader(
            st,
            (h) => {
              for (const n of st.names.slice(i)) {
                const [b, e] = get(h, n);
                set(h, n, [b + 8, e + 8]);
              }
            },
            data,
          ),
        ),
      });
    }
    at('beyond the data (begin = data length)', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [dataLen, dataLen + e - b]);
    });
    at('at 2^53', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [2 ** 53, 2 ** 53 + e - b]);
    });
    at('at 1e300', (h, n) => set(h, n, [1e300, 1e300]));
    at('non-integer (+0.5)', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [b + 0.5, e + 0.5]);
    });
    at('swapped [end, begin]', (h, n) => {
      const [b, e] = get(h, n);
      set(h, n, [e, b]);
    });
    at('as strings', (h, n) => set(h, n, get(h, n).map(String)));
    at('with a third element', (h, n) => set(h, n, [...get(h, n), get(h, n)[1]]));
    at('with one element', (h, n) => set(h, n, [get(h, n)[0]]));
    at('null', (h, n) => set(h, n, null));
    at('removed', (h, n) => delete (h[n] as Entry).data_offsets);
    at('empty range [b, b]', (h, n) => set(h, n, [get(h, n)[0], get(h, n)[0]]));
    // Two tensors of one size exchange places: a valid tiling, but each name now holds the other's numbers.
    {
      const bySize = new Map<number, string[]>();
      for (const n of st.names) {
        const [b, e] = get(st.header, n);
        bySize.set(e - b, [...(bySize.get(e - b) ?? []), n]);
      }
      const pairs = [...bySize.values()].filter((v) => v.length >= 2);
      if (pairs.length) {
        const group = pick(r, pairs);
        const [a, b] = shuffle(r, [...group]).slice(0, 2);
        cands.push({
          description: `${file}: data_offsets of "${a}" and "${b}" (same size) exchanged`,
          make: one(
            editHeader(st, (h) => {
              const oa = get(h, a);
              set(h, a, get(h, b));
              set(h, b, oa);
            }),
          ),
        });
      }
    }
    cands.push({
      description: `${file}: every data_offsets counted from the start of the file instead of the data`,
      make: one(
        editHeader(st, (h) => {
          for (const n of st.names)
            set(
              h,
              n,
              get(h, n).map((o) => o + 8 + hl),
            );
        }),
      ),
    });
    fams.offsets = cands;
  }
  // Names: renamed, removed, duplicated, an extra tensor, an extra key in an entry.
  {
    const r = fam('names');
    const cands: Candidate[] = [];
    const withName = (what: string, build: (name: string) => Buffer) => {
      const name = pick(r, st.names);
      cands.push({ description: `${file}: "${name}" ${what}`, make: () => ({ [file]: build(name) }) });
    };
    withName('renamed to "x.weight"', (n) =>
      editHeader(st, (h) => {
        h['x.weight'] = h[n];
        delete h[n];
      }),
    );
    withName('renamed to ""', (n) =>
      editHeader(st, (h) => {
        h[''] = h[n];
        delete h[n];
      }),
    );
    withName('renamed with a trailing space', (n) =>
      editHeader(st, (h) => {
        h[`${n} `] = h[n];
        delete h[n];
      }),
    );
    withName('renamed to "__proto__"', (n) => {
      const text = JSON.stringify(st.header).replace(`"${n}":`, '"__proto__":');
      return joinSafetensors(null, st.data, text);
    });
    withName('entry removed, its bytes left (a gap)', (n) => editHeader(st, (h) => delete h[n]));
    withName('removed with its bytes (later tensors moved)', (n) => {
      const [b, e] = offsets(st.header, n);
      const data = Buffer.concat([st.data.subarray(0, b), st.data.subarray(e)]);
      return editHeader(
        st,
        (h) => {
          delete h[n];
          for (const m of st.names.filter((x) => x !== n)) {
            const [mb, me] = offsets(h, m);
            if (mb >= e) (h[m] as Entry).data_offsets = [mb - (e - b), me - (e - b)];
          }
        },
        data,
      );
    });
    withName('duplicated in the JSON with the same entry', (n) => {
      const text = JSON.stringify(st.header);
      return joinSafetensors(null, st.data, `${text.slice(0, -1)},"${n}":${JSON.stringify(st.header[n])}}`);
    });
    withName("duplicated in the JSON with another tensor's entry", (n) => {
      const other = st.names.find((m) => m !== n)!;
      const text = JSON.stringify(st.header);
      return joinSafetensors(null, st.data, `${text.slice(0, -1)},"${n}":${JSON.stringify(st.header[other])}}`);
    });
    withName('has an extra key "crc": 1 in its entry', (n) => editHeader(st, (h) => ((h[n] as Entry).crc = 1)));
    withName('entry replaced by null', (n) => editHeader(st, (h) => (h[n] = null)));
    withName('entry replaced by a string', (n) => editHeader(st, (h) => (h[n] = 'F32')));
    cands.push({
      description: `${file}: an extra F32 [2] tensor "extra.weight" appended`,
      make: () => ({
        [file]: editHeader(
          st,
          (h) => (h['extra.weight'] = { dtype: 'F32', shape: [2], data_offsets: [st.data.length, st.data.length + 8] }),
          Buffer.concat([st.data, Buffer.alloc(8)]),
        ),
      }),
    });
    cands.push({
      description: `${file}: an empty F32 [0] tensor "extra.empty" added`,
      make: () => ({
        [file]: editHeader(
          st,
          (h) => (h['extra.empty'] = { dtype: 'F32', shape: [0], data_offsets: [st.data.length, st.data.length] }),
        ),
      }),
    });
    cands.push({
      description: `${file}: header is an empty object {} (no tensors)`,
      make: one(joinSafetensors({}, Buffer.alloc(0))),
    });
    cands.push({ description: `${file}: header is a JSON array`, make: one(joinSafetensors([], st.data)) });
    cands.push({ description: `${file}: header is "null"`, make: one(joinSafetensors(null, st.data, 'null')) });
    cands.push({ description: `${file}: header is a JSON string`, make: one(joinSafetensors(null, st.data, '"x"')) });
    fams.names = cands;
  }
  // Metadata: each key set to values of the wrong kind, removed, or to another well-formed value.
  {
    const r = fam('metadata');
    const keys =
      prefix === 'model'
        ? ['step', 'format', 'run_id', 'fixed_config']
        : ['step', 'format', 'run_id', 'fixed_config', 'optimizerStep', 'rng', 'bestValLoss', 'elapsedS'];
    const malformed: unknown[] = [
      'abc',
      '',
      '-1',
      '1.5',
      'NaN',
      'Infinity',
      '1e400',
      '[1]',
      '{}',
      'null',
      ' 20 ',
      '0x14',
      '20abc',
      20,
      null,
      true,
    ];
    const wellFormed: Record<string, string[]> = {
      step: ['10', '0'],
      format: [],
      optimizerStep: ['10', '0'],
      rng: ['[1,2,3,4]'],
      bestValLoss: ['1', 'null'],
      elapsedS: ['5', '0'],
      run_id: [],
      fixed_config: [],
    };
    const specific: Record<string, unknown[]> = {
      format: ['hsm-checkpoint/2', 'HSM-CHECKPOINT/1'],
      rng: ['[1,2,3]', '[1,2,3,4.5]', '[1,2,3,99999999999]', '"x"', '[1,2,3,"4"]', '[1,2,3,4,5]'],
      bestValLoss: ['"1"', '-1', 'true', '[]'],
      elapsedS: ['-5'],
      step: ['-20', '1e3'],
      optimizerStep: ['-20', '2.5'],
      run_id: ['0123456789abcdef0123456789abcdef'],
      fixed_config: ['{"gradAccum":2}', '{"batchSize":8}'],
    };
    const cands: Candidate[] = [];
    const meta = (st.header.__metadata__ ?? {}) as Record<string, unknown>;
    for (const key of keys) {
      // A value in the form the trainer writes is a well-formed edit; anything else is malformed.
      const judge = (v: unknown): [unknown, Expectation] => [v, wellFormedMetadata(key, v) ? 'valid-edit' : 'strict'];
      const values: [unknown, Expectation][] = [
        ...[...malformed, ...(specific[key] ?? []), ...wellFormed[key]].filter((v) => v !== meta[key]).map(judge),
        ['REMOVE', key === 'bestValLoss' || key === 'elapsedS' ? 'damage' : 'strict'],
      ];
      for (const [v, expect] of values)
        cands.push({
          description: `${file}: __metadata__.${key} ${v === 'REMOVE' ? 'removed' : `set to ${JSON.stringify(v)}`}`,
          expect,
          make: one(
            editHeader(st, (h) => {
              const m = h.__metadata__ as Record<string, unknown>;
              if (v === 'REMOVE') delete m[key];
              else m[key] = v;
            }),
          ),
        });
    }
    for (const [what, v] of [
      ['removed', 'REMOVE'],
      ['an array', []],
      ['a string', 'x'],
      ['null', null],
      ['with numbers instead of strings', Object.fromEntries(Object.entries(meta).map(([k, x]) => [k, Number(x)]))],
    ] as [string, unknown][])
      cands.push({
        description: `${file}: __metadata__ ${what}`,
        expect: 'strict',
        make: one(
          editHeader(st, (h) => {
            if (v === 'REMOVE') delete h.__metadata__;
            else h.__metadata__ = v;
          }),
        ),
      });
    fams.metadata = shuffle(r, cands);
  }
  // NaN and infinities in the data, and one absurd but finite value.
  {
    const r = fam('nonfinite');
    const values: [string, number][] = [
      ['NaN', NaN],
      ['+Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['3e38 (finite, absurd)', 3e38],
    ];
    const cands: Candidate[] = [];
    for (let i = 0; i < 12; i++) {
      const [what, v] = values[i % values.length];
      const name = pick(r, st.names),
        index = randInt(r, elementCount(st, name));
      cands.push({
        description: `${file}: "${name}"[${index}] set to ${what}`,
        make: one(setFloat(st, name, index, v)),
      });
    }
    {
      const name = pick(r, st.names);
      cands.push({
        description: `${file}: every element of "${name}" NaN`,
        make: () => {
          const data = Buffer.from(st.data);
          const [b, e] = offsets(st.header, name);
          for (let o = b; o < e; o += 4) data.writeFloatLE(NaN, o);
          return { [file]: joinSafetensors(st.header, data) };
        },
      });
    }
    fams.nonfinite = cands;
  }
  // Files without a checksum (as other tools write them): each damage must be caught by a check of its own.
  {
    const r = fam('unchecked');
    const meta = st.header.__metadata__ as Record<string, string>;
    const bare = (edit: (h: Record<string, unknown>, data: Buffer) => void) => () => {
      const data = Buffer.from(st.data);
      return {
        [file]: editHeader(
          st,
          (h) => {
            delete (h.__metadata__ as Record<string, string>).data_sha256;
            edit(h, data);
          },
          data,
        ),
      };
    };
    const put = (name: string, value: number) => (h: Record<string, unknown>, data: Buffer) =>
      data.writeFloatLE(value, offsets(h, name)[0] + 4 * randInt(r, elementCount(st, name)));
    const tensor = (prefixOf: string) =>
      pick(
        r,
        st.names.filter((n) => n.startsWith(prefixOf)),
      );
    const cands: Candidate[] = [];
    const add = (description: string, edit: (h: Record<string, unknown>, data: Buffer) => void) =>
      cands.push({ description: `${file} without its checksum: ${description}`, make: bare(edit) });
    add('unchanged otherwise', () => {});
    if (prefix === 'model') {
      for (const [what, v] of [
        ['3e38 (finite, absurd)', 3e38],
        ['NaN', NaN],
        ['+Infinity', Infinity],
        ['1e20', 1e20],
      ] as [string, number][]) {
        const name = tensor('');
        add(`an element of "${name}" set to ${what}`, put(name, v));
      }
    } else {
      const v = tensor('v.'),
        m = tensor('m.');
      add(`an element of "${v}" set to -1 (a negative second moment)`, put(v, -1));
      add(`an element of "${m}" set to 3e38`, put(m, 3e38));
      add('rng set to [0,0,0,0] (the fixed point of the sampler)', (h) => ((h.__metadata__ as Json).rng = '[0,0,0,0]'));
      add(
        `optimizerStep set to ${Number(meta.optimizerStep) - 1} (step ${meta.step})`,
        (h) => ((h.__metadata__ as Json).optimizerStep = String(Number(meta.optimizerStep) - 1)),
      );
    }
    const matrix = st.names.find((n) => {
      const s = (st.header[n] as Entry).shape as number[];
      return s.length === 2 && s[0] !== s[1];
    });
    if (matrix)
      add(`the shape of "${matrix}" reversed (same element count)`, (h) => {
        const e = h[matrix] as Entry;
        e.shape = [...(e.shape as number[])].reverse();
      });
    add('run_id of another run', (h) => ((h.__metadata__ as Json).run_id = '0123456789abcdef0123456789abcdef'));
    add('fixed_config with gradAccum 2', (h) => {
      const m = h.__metadata__ as Json;
      m.fixed_config = JSON.stringify({ ...(JSON.parse(String(m.fixed_config ?? '{}')) as Json), gradAccum: 2 });
    });
    fams.unchecked = cands;
  }
  // The whole file: removed, empty, a directory, or the other safetensors file's bytes.
  fams.whole = [
    { description: `${file} removed`, make: one(null) },
    { description: `${file} is an empty file`, make: one(Buffer.alloc(0)) },
    { description: `${file} is a directory`, make: one('dir') },
    { description: `${file} holds 1 MB of zero bytes`, make: one(Buffer.alloc(1 << 20)) },
    { description: `${file} holds text`, make: one(Buffer.from('not a safetensors file\n')) },
  ];
  return Object.fromEntries(Object.entries(fams).map(([k, v]) => [`${prefix}:${k}`, v]));
}
