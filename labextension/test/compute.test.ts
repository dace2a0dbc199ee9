/**
 * The renderer's numbers against Python's, on a real audit's payload
 * (test/make_fixture.py; MIA_FIXTURE points at a freshly written one).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  cellText,
  choiceIndex,
  claimAt,
  Curve,
  defaultTarget,
  flaggedRows,
  flaggedText,
  formatNumber,
  fprLabel,
  formatG,
  readCurve,
  readReport,
  ReportPayload,
  SavedCurve,
  tprAtFpr,
  tprCell,
  tprNote,
} from '../src/compute';
import { logLogProjection, nearestOnPath, rocRange, stepPath } from '../src/geometry';
import { FIXTURE, formatKey } from './helpers';
import { sortOrder } from '../src/sort';

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
// As the renderer reads it: curves from the saved counts (readReport).
const payload = readReport(fixture.payload);

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

test('default target is the first every attack can resolve', () => {
  const few = {
    ...payload,
    attacks: payload.attacks.map((a) => ({ ...a, curve: { ...a.curve!, n_nonmembers: 284 } })),
  };
  assert.equal(defaultTarget(payload), payload.verdict.fpr);
  assert.equal(defaultTarget({ ...payload, fpr_targets: [0.1] }), 0.1); // a panel's saved view
  const noVerdictFpr = { ...few, verdict: { ...few.verdict, fpr: null } };
  assert.equal(defaultTarget(noVerdictFpr), 0.01);
  assert.equal(defaultTarget({ ...payload, verdict: { ...payload.verdict, fpr: null } }), 0.001);
  assert.equal(formatNumber(-6.008e-7, 4), '-6.008e-07');
  assert.equal(formatNumber(0.12345, 3), '0.123');
  assert.equal(formatNumber(null), '—');
});

const BOX = { width: 460, height: 340, left: 56, right: 14, top: 14, bottom: 40 };

test("the ROC axes are log-log over Python's range, the chance line straight", () => {
  const range = rocRange(payload, []);
  assert.deepEqual(range, payload.roc);
  const n = payload.attacks[0].curve!.n_nonmembers;
  assert.equal(range.fpr_min, 0.5 / n); // render/curves.py roc_floor
  assert.deepEqual(rocRange({}, [284, 1000]), { fpr_min: 0.0005, tpr_min: 0.0005, tpr_max: 1.05 });
  const project = logLogProjection(range, BOX);
  assert.deepEqual(project(range.fpr_min, 0), [BOX.left, BOX.height - BOX.bottom]);
  assert.equal(project(1, range.tpr_max)[1], BOX.top);
  // TPR = FPR is one straight line on log-log axes: (0.01, 0.01) lies on the segment.
  const [ax, ay] = project(range.fpr_min, range.tpr_min);
  const [bx, by] = project(1, 1);
  const [cx, cy] = project(0.01, 0.01);
  assert.ok(Math.abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) < 1e-6);
  // Decades are evenly spaced on both axes.
  const step = (v: number) => project(v, v);
  assert.ok(Math.abs(step(0.1)[0] - step(0.01)[0] - (step(0.01)[0] - step(0.001)[0])) < 1e-9);
  assert.ok(Math.abs(step(0.1)[1] - step(0.01)[1] - (step(0.01)[1] - step(0.001)[1])) < 1e-9);
});

test('a tied jump is a step: nothing at 1% FPR, the hover reads the achievable point', () => {
  // One tied group of 60% of the members and 30% of the non-members (e.g. "gap").
  const gap: Curve = {
    fpr: [0, 0.3, 1],
    tpr: [0, 0.6, 1],
    thresholds: [null, 1, 0],
    n_members: 100,
    n_nonmembers: 100,
  };
  assert.equal(tprAtFpr(gap, 0.01).tpr, 0); // the table's TPR@1%
  const range = { fpr_min: 0.005, tpr_min: 0.005, tpr_max: 1.05 };
  const project = logLogProjection(range, BOX);
  const path = stepPath(gap, project);
  // Drawn at 1% FPR: the floor (TPR 0), not a line rising from the corner.
  const [x, y0] = project(0.01, 0);
  assert.equal(nearestOnPath(path, x, y0).d2, 0);
  assert.equal(nearestOnPath(path, x, y0).index, 0);
  // On the rise at 30% FPR the point read is the tied group's, with its threshold.
  const [rx] = project(0.3, 0.1);
  const [, ry] = project(0.3, 0.1);
  assert.equal(nearestOnPath(path, rx, ry).index, 1);
  // The hover picks the curve under the pointer, not the nearest vertex of another.
  const other: Curve = { ...gap, fpr: [0, 0.01, 0.02, 1], tpr: [0, 0.2, 0.3, 1] };
  const [ox, oy] = project(0.012, 0.2);
  const near = [gap, other].map((c) => nearestOnPath(stepPath(c, project), ox, oy).d2);
  assert.ok(near[1] < near[0]);
});

test("hovering a curve at an offered target reads Python's TPR there", () => {
  const range = rocRange(payload, []);
  const project = logLogProjection(range, BOX);
  let checked = 0;
  for (const a of payload.attacks) {
    const path = stepPath(a.curve!, project);
    for (const target of payload.fpr_choices) {
      const want = fixture.expected[a.name][formatKey(target)];
      if (want.tpr < range.tpr_min) {
        continue; // drawn on the floor with every point below it
      }
      const [x, y] = project(target, want.tpr);
      const hit = nearestOnPath(path, x, y);
      assert.ok(hit.d2 < 1e-12, `${a.name} @ ${target}: off the curve by ${hit.d2}`);
      assert.equal(a.curve!.tpr[hit.index], want.tpr, `${a.name} @ ${target}`);
      checked++;
    }
  }
  assert.ok(checked >= 12, `${checked}`);
});

test("table cells are Python's texts; a version-1 payload is formatted here", () => {
  for (const a of payload.attacks) {
    assert.equal(cellText(a, 'AUC'), a.text!.AUC);
    assert.equal(cellText(a, 'members'), a.members!.toLocaleString('en-US'));
    for (const [i, target] of payload.fpr_choices.entries()) {
      assert.equal(choiceIndex(payload, target), i);
      const [text, note] = tprCell(payload, a, target, a.curve);
      assert.deepEqual([text, note], [a.tpr_text![i], a.tpr_note![i]]);
      const want = fixture.expected[a.name][formatKey(target)];
      assert.equal(note, want.note);
      // (3,000 members: no TPR is a binary tie at the 4th decimal, where toFixed and
      // Python's '.3f' round differently; the renderer shows Python's text anyway.)
      assert.equal(text, want.resolvable ? want.tpr.toFixed(3) : 'n/a');
      const old = tprCell(payload, { ...a, tpr_text: undefined }, target, a.curve);
      assert.deepEqual(old, [want.resolvable ? want.tpr.toFixed(3) : 'n/a', want.note]);
    }
  }
  const f = payload.flagged;
  assert.ok(f.rows.length > 0 && f.text!.length === f.rows.length);
  assert.deepEqual(flaggedText(f, 0), f.text![0]);
  assert.equal(flaggedText({ ...f, text: undefined }, 0)[0], formatNumber(f.rows[0][0], 4));
});

test("curves saved as counts read back as Python's rates, to the last bit", () => {
  const saved = fixture.payload.attacks[0].curve as unknown as SavedCurve;
  const curve = payload.attacks[0].curve!;
  const fp = saved.fp!.split(',').map(Number);
  assert.ok(fp.every(Number.isInteger) && fp.length === curve.fpr.length);
  assert.deepEqual(
    curve.fpr,
    fp.map((v) => v / curve.n_nonmembers),
  );
  assert.equal(curve.thresholds[0], null); // "inf": above the top score
  assert.deepEqual(
    readCurve({ fp: '', tp: '', thresholds: '', n_members: 1, n_nonmembers: 1 }).fpr,
    [],
  );
  // A version-1 curve (lists of rates) is read as saved.
  assert.deepEqual(readCurve(curve).fpr, curve.fpr);
});
