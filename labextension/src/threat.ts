/**
 * The threat model of the attack table's rows, as Python's render/tables.threat_text
 * says it: 'black-box' (the attacks query the model's API), 'white-box' (they read the
 * model file), or both, comma-separated, for a group of rank-equivalent attacks that
 * mixes them.
 */
import { AttackPayload } from './compute';

/** The threat models, in the order a mixed group names them. */
export const SETTINGS = ['black-box', 'white-box'];

/** The threat-model cell of `attacks` ('' when the payload names none: an older one). */
export function threatText(attacks: AttackPayload[]): string {
  const found = new Set(attacks.map((a) => a.threat ?? ''));
  return SETTINGS.filter((s) => found.has(s)).join(', ');
}

/** A row's or curve's name with its threat model, e.g. "loss (black-box)". */
export function withThreat(name: string, threat: string): string {
  return threat ? `${name} (${threat})` : name;
}
