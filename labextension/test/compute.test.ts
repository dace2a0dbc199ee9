/**
 * The renderer's numbers against Python's, on a real audit's payload
 * (test/make_fixture.py; MIA_FIXTURE points at a freshly written one).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  axisFloor,
  claimAt,
  defaultTarget,
  flaggedRows,
  formatNumber,
  fprLabel,
  formatG,
  ReportPayload,
  sortOrder,
  tprAtFpr,
  tprNote,
} from '../src/compute';
import { FIXTURE, formatKey } from './helpers';

interface Expected {
  tpr: number;
  achieved_fpr: number;
  resolvable: boolean;
  coarse: boolean;
  note: string;
}

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf-8')) as {
  payload: ReportPayload;
  expected: Record<string, Record<string, Expected>>;
  flagged: Record<string, number[]>;
};
const payload = fixture.payload;

test('the fixture holds thinned curves for several attacks', () => {
  assert.ok(payload.attacks.length >= 2);
  for (const a of payload.attacks) {
    assert.ok(a.curve, a.name);
    assert.ok(a.curve.fpr.length <= 500 + 2 * payload.fpr_choices.length, a.name);
    assert.ok(a.curve.n_members + a.curve.n_nonmembers > a.curve.fpr.length, 'curve is thinned');
  }
});

test('TPR at every offered FPR target equals Python (metrics.tpr_at_fpr)', () => {
  let checked = 0;
  for (const a of payload.attacks) {
    for (const target of payload.fpr_choices) {
      const want = fixture.expected[a.name][formatKey(target)];
      const got = tprAtFpr(a.curve!, target);
      assert.equal(got.tpr, want.tpr, `${a.name} @ ${target}`);
      assert.equal(got.achievedFpr, want.achieved_fpr, `${a.name} @ ${target}`);
      assert.equal(got.resolvable, want.resolvable, `${a.name} @ ${target}`);
      assert.equal(got.coarse, want.coarse, `${a.name} @ ${target}`);
      assert.equal(tprNote(got), want.note, `${a.name} @ ${target}`);
      checked++;
    }
  }
  assert.ok(checked >= 24);
});

test('flagged rows at every target are the members Python identifies there', () => {
  let claimed = 0;
  let partial = 0;
  for (const target of payload.fpr_choices) {
    const want = fixture.flagged[formatKey(target)];
    const got = flaggedRows(payload, target);
    assert.deepEqual(got, want, `@ ${target}`);
    const c = claimAt(payload, target)!;
    assert.equal(c.claim, want.length > 0, `@ ${target}`);
    claimed += Number(c.claim);
    partial += Number(c.claim && c.identified < payload.flagged.limit);
  }
  // The fixture has targets with and without a claim, and one where the rank cut-off bites.
  assert.ok(claimed > 0 && claimed < payload.fpr_choices.length, `${claimed} claims`);
  assert.ok(partial > 0);
});

test('no claim, no flag: at level "none" nobody is flagged at any target', () => {
  const none: ReportPayload = {
    ...payload,
    verdict: { ...payload.verdict, level: 'none', attack: null, n_identified: 0, fpr: null },
    claims: payload.claims.map((c) => ({ ...c, claim: false, identified: 0, why: 'none' })),
  };
  for (const target of payload.fpr_choices) {
    assert.deepEqual(flaggedRows(none, target), []);
  }
  // A claim with an identified count but no rank column still flags nobody.
  const broken = { ...payload, flagged: { ...payload.flagged, rank_column: 'missing' } };
  assert.deepEqual(flaggedRows(broken, payload.fpr_choices.at(-1)!), []);
});

test('column labels and number formats follow Python', () => {
  assert.equal(fprLabel(0.001), 'TPR@0.1%FPR');
  assert.equal(fprLabel(0.0001), 'TPR@0.01%FPR');
  assert.equal(fprLabel(0.5), 'TPR@50%FPR');
  assert.equal(formatG(0.00001, 6), '1e-05');
  assert.equal(formatG(1234567, 6), '1.23457e+06');
  assert.equal(formatG(0.125, 3), '0.125');
});

test('sorting is numeric, stable, missing values last', () => {
  const rows = [
    [3, 'b'],
    [null, 'a'],
    [10, 'c'],
    [3, 'a'],
  ];
  assert.deepEqual(sortOrder(rows, 0, false), [0, 3, 2, 1]);
  assert.deepEqual(sortOrder(rows, 0, true), [2, 0, 3, 1]);
  assert.deepEqual(sortOrder(rows, 1, false), [1, 3, 0, 2]);
});

test('default target is the first every attack can resolve; axis floor is a decade', () => {
  const few = {
    ...payload,
    attacks: payload.attacks.map((a) => ({ ...a, curve: { ...a.curve!, n_nonmembers: 284 } })),
  };
  assert.equal(defaultTarget(payload), payload.verdict.fpr);
  assert.equal(defaultTarget({ ...payload, fpr_targets: [0.1] }), 0.1); // a panel's saved view
  const noVerdictFpr = { ...few, verdict: { ...few.verdict, fpr: null } };
  assert.equal(defaultTarget(noVerdictFpr), 0.01);
  assert.equal(defaultTarget({ ...payload, verdict: { ...payload.verdict, fpr: null } }), 0.001);
  assert.equal(axisFloor([284]), 0.001);
  assert.equal(axisFloor([3000, 100]), 0.0001);
  assert.equal(axisFloor([1000]), 0.001);
  assert.equal(formatNumber(-6.008e-7, 4), '-6.008e-07');
  assert.equal(formatNumber(0.12345, 3), '0.123');
  assert.equal(formatNumber(null), '—');
});
