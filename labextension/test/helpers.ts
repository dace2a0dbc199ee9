/** Shared by the unit tests: where the fixture is, and its keys. */
import { join } from 'node:path';

/** The fixture written by test/make_fixture.py (MIA_FIXTURE overrides the committed one). */
export const FIXTURE =
  process.env.MIA_FIXTURE ?? join(__dirname, '..', '..', 'test', 'fixture.json');

/** Python's repr of a float, as used for the fixture's keys. */
export function formatKey(x: number): string {
  const s = String(x);
  return s.includes('e') ? s.replace(/e-(\d)$/, 'e-0$1') : s.includes('.') ? s : `${s}.0`;
}
