/** The threat-model label of the attack table's rows and curves (src/threat.ts). */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { AttackPayload, attackRows, ReportPayload } from '../src/compute';
import { ComparisonPayload } from '../src/comparison';
import { threatText, withThreat } from '../src/threat';
import { FIXTURE } from './helpers';

const attack = (name: string, threat?: string): AttackPayload =>
  ({ name, threat, curve: null }) as unknown as AttackPayload;

test('a row names its threat model; a mixed group names both, black-box first', () => {
  assert.equal(threatText([attack('loss', 'black-box')]), 'black-box');
  assert.equal(threatText([attack('stored-match', 'white-box')]), 'white-box');
  const mixed = [attack('grad-norm', 'white-box'), attack('loss', 'black-box')];
  assert.equal(threatText(mixed), 'black-box, white-box');
  assert.equal(withThreat('loss', 'black-box'), 'loss (black-box)');
});

test('an older payload without threat models shows no label', () => {
  assert.equal(threatText([attack('loss'), attack('gap')]), '');
  assert.equal(withThreat('loss', ''), 'loss');
});

test("the fixture's rows carry Python's threat model (black-box attacks only)", () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf-8')) as { payload: ReportPayload };
  const p = fixture.payload;
  const byName = new Map(p.attacks.map((a) => [a.name, a]));
  for (const row of attackRows(p, new Set(), false)) {
    const label = threatText(row.names.map((n) => byName.get(n)!));
    assert.equal(label, 'black-box');
  }
});

test("the comparison fixture's rows name their setting and their attack's threat model", () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf-8')) as { comparison: ComparisonPayload };
  for (const m of fixture.comparison.models) {
    assert.equal(m.setting, 'black-box'); // black-box attacks only: one setting
    assert.equal(withThreat(m.attack!, m.threat ?? ''), `${m.attack} (black-box)`);
  }
});
