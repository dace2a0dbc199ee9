/**
 * The comparison renderer's numbers and the grouped attack table against Python's, on
 * real payloads (test/make_fixture.py; MIA_FIXTURE points at a freshly written one).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  ComparisonPayload,
  exposureText,
  isComparison,
  levelChange,
  modelAt,
  readComparison,
  tprDelta,
  tprText,
} from '../src/comparison';
import { attackRows, hasMergedGroups, readReport, ReportPayload } from '../src/compute';
import { FIXTURE, formatKey } from './helpers';

interface Row {
  tpr: number;
  resolvable: boolean;
  value: number | null;
  interval: [number, number] | null;
  claim: boolean;
  identified: number;
}

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf-8')) as {
  payload: ReportPayload;
  groups: string[][];
  grouped_auc: number[];
  comparison: ComparisonPayload;
  comparison_expected: {
    rows: Record<string, Record<string, Row>>;
    fpr: number;
    summary_tpr: Record<string, number | null>;
  };
};
const cmp = readComparison(fixture.comparison); // as the renderer reads it
const want = fixture.comparison_expected;

test('the comparison fixture holds several models with thinned curves and no records', () => {
  assert.ok(isComparison(cmp));
  assert.ok(cmp.models.length >= 3);
  assert.equal(cmp.fpr, want.fpr);
  assert.ok(cmp.fpr_choices.includes(cmp.fpr));
  for (const m of cmp.models) {
    assert.deepEqual(m.report.flagged.rows, [], m.name);
    const a = m.report.attacks.find((x) => x.name === m.attack)!;
    assert.ok(a.curve!.n_members + a.curve!.n_nonmembers > a.curve!.fpr.length, 'thinned');
  }
  assert.ok(!isComparison(fixture.payload));
  assert.ok(!isComparison({ ...cmp, version: 2 }));
});

test("every model's TPR at every offered target equals Python's (ComparisonReport rows)", () => {
  let checked = 0;
  let unresolvable = 0;
  for (const m of cmp.models) {
    for (const target of cmp.fpr_choices) {
      const py = want.rows[m.name][formatKey(target)];
      const at = modelAt(m, target);
      assert.equal(at.tpr!.tpr, py.tpr, `${m.name} @ ${target}`);
      assert.equal(at.tpr!.resolvable, py.resolvable, `${m.name} @ ${target}`);
      assert.equal(tprText(at), py.value === null ? '—' : py.value.toFixed(3));
      assert.deepEqual(at.interval, py.interval, `${m.name} @ ${target}`);
      unresolvable += Number(!py.resolvable);
      checked++;
    }
    // At the comparison's own FPR: the figure of Python's summary table.
    const own = modelAt(m, cmp.fpr);
    assert.equal(own.tpr!.resolvable ? own.tpr!.tpr : null, want.summary_tpr[m.name]);
  }
  assert.ok(checked >= 3 * 10 && unresolvable > 0, `${checked} checked`);
});

test('a model is said to single out members only where Python claims it', () => {
  const levels = new Set(cmp.models.map((m) => m.level));
  assert.ok(levels.has('none') && levels.size >= 2, [...levels].join());
  let claims = 0;
  for (const m of cmp.models) {
    for (const target of cmp.fpr_choices) {
      const py = want.rows[m.name][formatKey(target)];
      const text = exposureText(modelAt(m, target));
      if (m.level === 'none') {
        assert.equal(text, 'none (no attack beats chance)');
      }
      assert.equal(/^[\d,]+ members$/.test(text), py.claim, `${m.name} @ ${target}: ${text}`);
      if (py.claim) {
        assert.equal(text, `${py.identified.toLocaleString('en-US')} members`);
        claims++;
      }
    }
  }
  assert.ok(claims > 0);
  // Even a claim stored by mistake under level "none" is not shown as an exposure.
  const m = cmp.models.find((x) => x.level === 'none')!;
  const forged = {
    ...m,
    report: { ...m.report, claims: m.report.claims.map((c) => ({ ...c, claim: true })) },
  };
  assert.equal(exposureText(modelAt(forged, cmp.fpr)), 'none (no attack beats chance)');
});

test('deltas against the baseline are signed like Python', () => {
  const [base, other] = cmp.models.map((m) => modelAt(m, 0.1));
  assert.equal(tprDelta(base, base), '+0.000');
  const d = other.tpr!.tpr - base.tpr!.tpr;
  assert.equal(tprDelta(other, base), `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(3)}`);
  assert.equal(tprDelta(modelAt(cmp.models[0], 0.0001), base), '—');
  assert.equal(levelChange('high', 'none'), '+3');
  assert.equal(levelChange('low', 'low'), '+0');
  assert.equal(levelChange('none', 'elevated'), '-2');
});

test('one row per group of rank-equivalent attacks, every attack on demand', () => {
  const p = readReport(fixture.payload);
  assert.deepEqual(p.groups, fixture.groups);
  assert.ok(hasMergedGroups(p));
  const rows = attackRows(p, new Set(), false);
  assert.deepEqual(
    rows.map((r) => r.names),
    fixture.groups,
  );
  assert.deepEqual(
    rows.map((r) => r.lead.AUC),
    fixture.grouped_auc,
  );
  const all = attackRows(p, new Set(), true);
  assert.deepEqual(
    all.map((r) => r.names),
    p.attacks.map((a) => [a.name]),
  );
  // Hiding the group's first attack keeps the row (led by the next) and its colour key.
  const merged = fixture.groups.find((g) => g.length > 1)!;
  const hidden = attackRows(p, new Set([merged[0]]), false);
  const row = hidden.find((r) => r.key === merged[0])!;
  assert.deepEqual(row.names, merged.slice(1));
  assert.equal(row.lead.name, merged[1]);
  assert.equal(attackRows(p, new Set(merged), false).length, fixture.groups.length - 1);
  // A payload written before groups existed: one row per attack.
  const old = { ...p, groups: undefined };
  assert.equal(attackRows(old, new Set(), false).length, p.attacks.length);
  assert.ok(!hasMergedGroups(old));
});
