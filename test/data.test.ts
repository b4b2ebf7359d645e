import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  TokenDataset,
  createStreamDecoder,
  createTokenizer,
  loadCorpus,
  parseTokenizerKind,
  tokenizerFromSpec,
  type Tokenizer,
} from '../src/data/index.js';
import { UserError } from '../src/errors.js';
import { countSotuAddresses } from '../src/data/builtin-corpora.js';
import { firstInvalidOffset } from '../src/data/utf8.js';
import { Rng } from '../src/tensor/random.js';
import { SHAKESPEARE, shakespeare as shakespeareText } from './helpers.js';

const shakespeare = shakespeareText();
const SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed';
const MULTIBYTE = 'naïve café — 日本語 😀 Ωμέγα\n';

const tmp = mkdtempSync(join(tmpdir(), 'hsm-data-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Asserts fn throws a UserError whose message matches every pattern. */
function throwsUserError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.equal(err.name, 'UserError');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

function streamDecode(tok: Tokenizer, ids: ArrayLike<number>): string[] {
  const dec = createStreamDecoder(tok);
  const chunks = Array.from(ids, (id) => dec.push(id));
  chunks.push(dec.flush());
  return chunks;
}

describe('char tokenizer', () => {
  test('Tiny Shakespeare gives nanoGPT’s 65-symbol vocabulary and ids', () => {
    const tok = createTokenizer('char', shakespeare);
    // Independently: the file is ASCII, so UTF-16 sort order is code-point order.
    const vocab = [...new Set(shakespeare)].sort();
    assert.equal(tok.vocabSize, 65);
    assert.deepEqual(tok.toJSON(), { kind: 'char', vocab: vocab.join('') });
    assert.equal(vocab.join(''), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    assert.ok(shakespeare.startsWith('First Citizen:'));
    const first10 = Array.from(tok.encode(shakespeare.slice(0, 10)));
    assert.deepEqual(
      first10,
      Array.from(shakespeare.slice(0, 10), (c) => vocab.indexOf(c)),
    );
    assert.deepEqual(first10, [18, 47, 56, 57, 58, 1, 15, 47, 58, 47]); // as printed by nanoGPT's prepare.py
  });

  test('round-trips the whole corpus', () => {
    const tok = createTokenizer('char', shakespeare);
    const ids = tok.encode(shakespeare);
    assert.ok(ids instanceof Int32Array);
    assert.equal(ids.length, shakespeare.length);
    assert.equal(tok.decode(ids), shakespeare);
  });

  test('works on code points and sorts them like Python', () => {
    const tok = createTokenizer('char', 'b😀a\ufffdb');
    // JS's default sort would put 😀 (surrogate 0xD83D) before U+FFFD.
    assert.deepEqual(tok.toJSON(), { kind: 'char', vocab: 'ab\ufffd😀' });
    assert.equal(tok.vocabSize, 4);
    assert.deepEqual(Array.from(tok.encode('😀a')), [3, 0]);
    assert.equal(tok.decode([3, 2, 1]), '😀\ufffdb');
  });

  test('unknown character is a UserError naming it', () => {
    const tok = createTokenizer('char', shakespeare);
    throwsUserError(() => tok.encode('Hello é'), /"é"/, /U\+00E9/, /--tokenizer byte/);
  });
});

describe('byte tokenizer', () => {
  test('round-trips multibyte text', () => {
    const tok = createTokenizer('byte', '');
    const ids = tok.encode(MULTIBYTE);
    assert.equal(tok.vocabSize, 256);
    assert.equal(ids.length, Buffer.byteLength(MULTIBYTE));
    assert.equal(tok.decode(ids), MULTIBYTE);
    assert.equal(tok.decode(tok.encode('\ufeffBOM kept')), '\ufeffBOM kept');
  });

  test('decoding a split character is lenient', () => {
    const tok = createTokenizer('byte', '');
    const ids = tok.encode('a😀');
    assert.equal(tok.decode(ids.subarray(0, 3)), 'a\ufffd');
  });

  test('stream decoder emits only whole characters, one byte at a time', () => {
    const tok = createTokenizer('byte', '');
    const chunks = streamDecode(tok, tok.encode(MULTIBYTE));
    assert.equal(chunks.join(''), MULTIBYTE);
    for (const c of chunks) assert.ok(!c.includes('\ufffd') && Array.from(c).length <= 1, JSON.stringify(c));
    assert.deepEqual(streamDecode(tok, tok.encode('😀')), ['', '', '', '😀', '']);
    assert.deepEqual(streamDecode(tok, tok.encode('😀').subarray(0, 2)), ['', '', '\ufffd']);
  });
});

describe('gpt2 tokenizer', () => {
  const tok = createTokenizer('gpt2', '');

  test('known encoding and vocabulary size', () => {
    assert.equal(tok.vocabSize, 50257);
    assert.deepEqual(Array.from(tok.encode('Hello world')), [15496, 995]);
  });

  test('round-trips multibyte text, and <|endoftext|> in text stays text', () => {
    assert.equal(tok.decode(tok.encode(MULTIBYTE)), MULTIBYTE);
    const ids = Array.from(tok.encode('a<|endoftext|>b'));
    assert.ok(!ids.includes(50256));
    assert.equal(tok.decode(ids), 'a<|endoftext|>b');
    assert.equal(tok.decode([50256]), '<|endoftext|>');
  });

  test('matches plain js-tiktoken on 100 kB of Shakespeare', () => {
    const require = createRequire(import.meta.url);
    const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
    const reference = new Tiktoken(require('js-tiktoken/ranks/gpt2'));
    const text = shakespeare.slice(0, 100_000) + MULTIBYTE;
    assert.deepEqual(Array.from(tok.encode(text)), reference.encode(text, [], []));
  });

  test('stream decoder joins tokens that split a character', () => {
    const ids = tok.encode(MULTIBYTE);
    const chunks = streamDecode(tok, ids);
    assert.equal(chunks.join(''), MULTIBYTE);
    for (const c of chunks) assert.ok(!c.includes('\ufffd'), JSON.stringify(c));
    // Otherwise the test above would prove nothing.
    assert.ok(
      Array.from(ids).some((id) => tok.decode([id]).includes('\ufffd')),
      'no token splits a character',
    );
  });
});

describe('tokenizer specs', () => {
  test('every kind survives a JSON round trip', () => {
    for (const kind of ['char', 'byte', 'gpt2'] as const) {
      const tok = createTokenizer(kind, shakespeare.slice(0, 5000));
      const back = tokenizerFromSpec(JSON.parse(JSON.stringify(tok.toJSON())));
      assert.equal(back.kind, kind);
      assert.equal(back.vocabSize, tok.vocabSize);
      const sample = shakespeare.slice(100, 400);
      assert.deepEqual(back.encode(sample), tok.encode(sample));
    }
  });

  test('bad specs and kinds are UserErrors', () => {
    throwsUserError(() => tokenizerFromSpec({ kind: 'wordpiece' }), /tokenizer spec/, /retrain/);
    throwsUserError(() => tokenizerFromSpec(null), /tokenizer spec/);
    throwsUserError(() => tokenizerFromSpec({ kind: 'char', vocab: 'ba' }), /not sorted/);
    throwsUserError(() => parseTokenizerKind('bpe'), /"bpe"/, /char, byte, gpt2/);
  });
});

describe('corpus loading', () => {
  const file = (name: string, data: string | Uint8Array) => {
    const path = join(tmp, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, data);
    return path;
  };

  test('missing path', () => {
    const path = join(tmp, 'nope.txt');
    throwsUserError(
      () => loadCorpus(path),
      new RegExp(`${path.replace(/[.\\]/g, '\\$&')} does not exist`),
      /sotu, shakespeare/,
    );
  });

  test('empty and whitespace-only files', () => {
    throwsUserError(() => loadCorpus(file('empty.txt', '')), /empty\.txt is empty/, /pass a text file/);
    throwsUserError(() => loadCorpus(file('blank.txt', ' \n\t\r\n  ')), /blank\.txt is empty/);
  });

  test('non-UTF-8 file names the file and the byte offset', () => {
    const path = file('latin1.txt', Uint8Array.of(0x61, 0x62, 0xff, 0xfe, 0x63));
    throwsUserError(() => loadCorpus(path), /latin1\.txt is not valid UTF-8/, /byte offset 2\b/, /iconv/);
    // A genuine U+FFFD (EF BF BD) before the bad byte must not confuse the offset.
    assert.equal(firstInvalidOffset(Uint8Array.of(0xef, 0xbf, 0xbd, 0x41, 0xc3)), 4);
    assert.equal(firstInvalidOffset(new TextEncoder().encode('fine')), -1);
  });

  test('a BOM is dropped and the name comes from the file', () => {
    const corpus = loadCorpus(file('bom.txt', '\ufeffhello'));
    assert.equal(corpus.text, 'hello');
    assert.equal(corpus.name, 'bom');
  });

  test('folder: .txt files at any depth, sorted by path', () => {
    file('books/b.txt', 'B');
    file('books/a.txt', 'A');
    file('books/sub/c.txt', 'C');
    file('books/notes.md', 'not text');
    const corpus = loadCorpus(join(tmp, 'books'));
    assert.equal(corpus.text, 'A\n\nB\n\nC');
    assert.equal(corpus.name, 'books');
  });

  test('folder without .txt files', () => {
    file('nothing/readme.md', 'x');
    throwsUserError(() => loadCorpus(join(tmp, 'nothing')), /contains no \.txt files/);
  });

  test('shakespeare comes from HSM_DATA_DIR first, then the data folder shipped in the package', () => {
    const saved = process.env.HSM_DATA_DIR;
    try {
      delete process.env.HSM_DATA_DIR;
      const shipped = loadCorpus('shakespeare');
      assert.equal(shipped.text, shakespeare);
      assert.equal(shipped.source, SHAKESPEARE);
      // The file is the one data/README.md describes, byte for byte.
      assert.equal(createHash('sha256').update(readFileSync(SHAKESPEARE)).digest('hex'), SHAKESPEARE_SHA256);
      const dir = join(tmp, 'datadir');
      file('datadir/tinyshakespeare.txt', 'To be');
      process.env.HSM_DATA_DIR = dir;
      assert.equal(loadCorpus('shakespeare').text, 'To be');
      // A folder without the file falls back to the shipped one.
      process.env.HSM_DATA_DIR = join(tmp, 'nothing-here');
      assert.equal(loadCorpus('shakespeare').source, SHAKESPEARE);
    } finally {
      if (saved === undefined) delete process.env.HSM_DATA_DIR;
      else process.env.HSM_DATA_DIR = saved;
    }
  });

  test('sotu: 233 addresses in year order, about 10.8 MB', () => {
    const corpus = loadCorpus('sotu');
    assert.equal(corpus.name, 'sotu');
    assert.equal(countSotuAddresses(corpus.text), 233);
    const bytes = Buffer.byteLength(corpus.text);
    assert.ok(bytes > 10.7e6 && bytes < 10.9e6, `${bytes} bytes`);
    assert.ok(corpus.text.startsWith('# 1790 George Washington\n\n'));
    const years = Array.from(corpus.text.matchAll(/^# (\d{4}) /gm), (m) => Number(m[1]));
    assert.ok(years.every((y, i) => i === 0 || years[i - 1] <= y));
    assert.equal(loadCorpus().text, corpus.text, 'sotu is the default and deterministic');
  });
});

describe('TokenDataset', () => {
  const arange = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

  test('contiguous 90/10 split', () => {
    const data = new TokenDataset(arange(1000));
    assert.equal(data.train.length, 900);
    assert.equal(data.val.length, 100);
    assert.deepEqual(data.train, arange(900));
    assert.equal(data.val[0], 900);
    assert.equal(data.val[99], 999);
    assert.equal(new TokenDataset(arange(1000), { valFraction: 0.25 }).val.length, 250);
    throwsUserError(() => new TokenDataset(arange(10), { valFraction: 1 }), /validation fraction/);
  });

  test('batches: shapes, y = x shifted by one, offsets from the Rng', () => {
    const data = new TokenDataset(arange(1000));
    const B = 4,
      T = 16;
    const { x, y } = data.sampleBatch('train', new Rng(7), B, T);
    assert.ok(x instanceof Int32Array && y instanceof Int32Array);
    assert.equal(x.length, B * T);
    assert.equal(y.length, B * T);
    const expected = new Rng(7);
    for (let b = 0; b < B; b++) {
      assert.equal(x[b * T], expected.int(900 - T), 'offset = rng.int(len - T), like nanoGPT');
      for (let t = 0; t < T; t++) {
        assert.equal(x[b * T + t], x[b * T] + t, 'rows are contiguous windows');
        assert.equal(y[b * T + t], x[b * T + t] + 1);
      }
    }
    const val = data.sampleBatch('val', new Rng(7), B, T);
    assert.ok(val.x.every((v) => v >= 900) && val.y.every((v) => v <= 999));
  });

  test('same seed, same batches; different seed, different batches', () => {
    const data = TokenDataset.fromText(shakespeare.slice(0, 20_000), createTokenizer('char', shakespeare));
    const a = data.sampleBatch('train', new Rng(1), 8, 32);
    const b = data.sampleBatch('train', new Rng(1), 8, 32);
    const c = data.sampleBatch('train', new Rng(2), 8, 32);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.x, c.x);
  });

  test('a split shorter than context + 1 is a UserError', () => {
    const data = new TokenDataset(arange(50)); // 45 train, 5 val
    throwsUserError(
      () => data.checkContext(8),
      /validation split has 5 tokens/,
      /--context 8/,
      /at least 9/,
      /smaller --context or a bigger corpus/,
    );
    throwsUserError(() => data.sampleBatch('train', new Rng(0), 1, 45), /training split has 45 tokens/);
    const edge = data.sampleBatch('train', new Rng(0), 2, 44); // exactly T + 1 tokens: only offset 0
    assert.deepEqual(edge.x.subarray(0, 44), arange(44));
    data.checkContext(4);
  });
});
