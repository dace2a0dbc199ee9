/** Under person=: the flagged people's rows on expand (src/people.ts). */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { FlaggedPayload } from '../src/compute';
import { PeopleRows, peopleRows, personView } from '../src/people';

const HOSTILE = '<img src=x onerror="alert(1)">';

const people: PeopleRows = {
  index_name: 'index (train)',
  columns: ['person #', `<b>${HOSTILE}</b>`, 'year'],
  text: [
    [
      ['17', '3', HOSTILE, '1,980'],
      ['18', '3', '&lt;not decoded&gt;', '1,981'],
    ],
    [['40', '1', '███', '1,980']],
    [],
  ],
  counts: [2, 8, 8],
  limit: 3,
  dropped: 2,
};

const flagged = (extra: object): FlaggedPayload =>
  ({
    attack: 'loss',
    limit: 3,
    columns: [],
    rows: [],
    ranks: {},
    ...extra,
  }) as unknown as FlaggedPayload;

test('a payload without people (row-level or older) expands nothing', () => {
  assert.equal(peopleRows(flagged({})), undefined);
  assert.equal(peopleRows(flagged({ people })), people);
});

test("a person's rows are Python's texts, verbatim (markup stays text)", () => {
  const v = personView(people, 0);
  assert.deepEqual(v.head, ['index (train)', 'person #', `<b>${HOSTILE}</b>`, 'year']);
  assert.deepEqual(v.rows, people.text[0]);
  assert.equal(v.rows[0][2], HOSTILE);
  assert.equal(v.rows[1][2], '&lt;not decoded&gt;');
  assert.deepEqual(v.notes, ['2 more columns not shown.']);
});

test("rows cut by the cap say how many of the person's rows are shown", () => {
  const v = personView(people, 1);
  assert.deepEqual(v.rows, [['40', '1', '███', '1,980']]);
  assert.equal(
    v.notes[0],
    "1 of this person's 8 rows shown (at most 3 rows of the flagged people are listed).",
  );
  assert.equal(personView(people, 2).rows.length, 0);
  assert.match(personView(people, 2).notes[0], /^0 of this person's 8 rows shown/);
});
