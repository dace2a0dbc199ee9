/** The "Audit a model…" command's pure parts: reading the kernel's answer, writing the magic. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  buildMagic,
  frameLabel,
  guessTarget,
  missingCandidates,
  parseDiscovery,
  quoteArg,
  sharedColumns,
} from '../src/audit';

const base = {
  model: 'clf',
  train: 'train_df',
  test: 'test_df',
  target: 'label',
  attacks: 'auto',
  fpr: '0.001,0.01,0.1',
  flag: 10,
  redact: [] as string[],
  slice: '',
};

test('defaults give the shortest magic line', () => {
  assert.equal(buildMagic(base), '%mia_audit clf --train train_df --test test_df --target label');
});

test('options and awkward column names are written so arg_split reads them back', () => {
  const line = buildMagic({
    ...base,
    target: 'has "affair" flag',
    attacks: 'loss,confidence,entropy',
    fpr: '0.01, 0.05',
    flag: 3,
    redact: ['ssn', 'zip code'],
    slice: 'age',
  });
  assert.equal(
    line,
    '%mia_audit clf --train train_df --test test_df --target "has \\"affair\\" flag" ' +
      '--attacks loss,confidence,entropy --fpr 0.01,0.05 --flag 3 --slice age ' +
      '--redact "ssn,zip code"',
  );
  assert.equal(quoteArg('a\\b c'), '"a\\\\b c"');
});

test('a person column is written as --person', () => {
  assert.equal(
    buildMagic({ ...base, person: 'patient id' }),
    '%mia_audit clf --train train_df --test test_df --target label --person "patient id"',
  );
  assert.equal(buildMagic({ ...base, person: '' }), buildMagic(base));
});

test("the kernel's hex-encoded JSON repr is decoded, non-ASCII included", () => {
  const data = { models: ['forest'], frames: { tr: { columns: ['âge', 'label'], rows: 3 } } };
  const hex = Buffer.from(JSON.stringify(data), 'utf-8').toString('hex');
  assert.deepEqual(parseDiscovery(`'${hex}'`), data);
  assert.throws(() => parseDiscovery("'not hex'"), /unexpected answer/);
});

test('target guess and shared columns', () => {
  const c = {
    models: [],
    frames: { a: { columns: ['x', 'y', 'z'], rows: 1 }, b: { columns: ['z', 'x'], rows: 1 } },
  };
  assert.deepEqual(sharedColumns(c, 'a', 'b'), ['x', 'z']);
  assert.equal(guessTarget(['x', 'Label', 'z']), 'Label');
  assert.equal(guessTarget(['x', 'z']), 'z');
  assert.equal(guessTarget([]), '');
});

test('frame choices show their size', () => {
  const frame = { columns: ['x', 'label'], rows: 3183 };
  assert.equal(frameLabel('train_df', frame), 'train_df (3,183 rows × 2 columns)');
  assert.equal(frameLabel('df', { ...frame, n_columns: 1200 }), 'df (3,183 rows × 1,200 columns)');
  assert.equal(frameLabel('one', { columns: ['x'], rows: 1 }), 'one (1 row × 1 column)');
  assert.equal(frameLabel('gone'), 'gone');
});

test('without a model or two DataFrames the message says how to fix it', () => {
  const frames = { tr: { columns: ['x'], rows: 1 }, te: { columns: ['x'], rows: 1 } };
  assert.equal(missingCandidates({ models: ['clf'], frames }), '');
  const noFrames = missingCandidates({ models: ['clf'], frames: {} });
  assert.match(noFrames, /Wrap arrays with pd\.DataFrame/);
  assert.match(noFrames, /Found models: \[clf\]; DataFrames: \[\]/);
  assert.match(missingCandidates({ models: [], frames }), /no fitted scikit-learn model/);
});
