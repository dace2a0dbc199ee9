/**
 * Pure computations on the report payload (no DOM, no JupyterLab): the renderer's
 * numbers. They follow mia_notebook/engine/metrics.py exactly:
 * members are the positive class, a higher score means "more likely a member", and the
 * TPR at a target FPR uses the largest threshold whose FPR does not exceed the target.
 */

/** The MIME type written by mia_notebook/render/mime.py. */
export const MIME_TYPE = 'application/vnd.mia-notebook.report.v1+json';
/** Payload versions this renderer draws (render/mime.py VERSION; 1 lacks texts and slices). */
export const VERSIONS = [1, 2];

export interface Curve {
  fpr: number[];
  tpr: number[];
  thresholds: (number | null)[];
  n_members: number;
  n_nonmembers: number;
}

/** A curve as the payload saves it: member and non-member counts, each list one
 * comma-separated string (version 2), or lists of rates (version 1). `readCurve` turns
 * it into a `Curve`. */
export interface SavedCurve {
  fp?: string;
  tp?: string;
  fpr?: number[];
  tpr?: number[];
  thresholds: string | (number | null)[];
  n_members: number;
  n_nonmembers: number;
}

/** "1,2,3" as numbers; "inf" is the threshold above the top score (null: "+∞"). */
function numbers(text: string): (number | null)[] {
  return text ? text.split(',').map((v) => (v === 'inf' ? null : Number(v))) : [];
}

/** The curve's rates: FPR = fp / n_nonmembers and TPR = tp / n_members, the very
 * division Python made (engine/metrics.py), so they equal Python's to the last bit. */
export function readCurve(c: SavedCurve): Curve {
  const counts = (text: string, n: number) => numbers(text).map((v) => (v ?? 0) / n);
  return {
    fpr: c.fp !== undefined ? counts(c.fp, c.n_nonmembers) : (c.fpr ?? []),
    tpr: c.tp !== undefined ? counts(c.tp, c.n_members) : (c.tpr ?? []),
    thresholds: typeof c.thresholds === 'string' ? numbers(c.thresholds) : c.thresholds,
    n_members: c.n_members,
    n_nonmembers: c.n_nonmembers,
  };
}

/** `p` as the views read it: every attack's curve through `readCurve`. A new object:
 * the notebook's saved data is left as it is. */
export function readReport(p: ReportPayload): ReportPayload {
  const attacks = p.attacks.map((a) => ({
    ...a,
    curve: a.curve ? readCurve(a.curve as SavedCurve) : null,
  }));
  return { ...p, attacks };
}

/** A metric table's row as Python formats it (render/tables.py; payload version 2). */
export interface RowTexts {
  /** AUC, advantage, epsilon_lb, members, non_members as the static tables print them. */
  text?: Record<string, string>;
  /** The TPR cell at each offered FPR target (aligned with `fpr_choices`). */
  tpr_text?: string[];
  /** Its note: "needs ≥ N non-members", "coarse: ties" or "". */
  tpr_note?: string[];
}

/** The numbers a metric table shows besides the TPR. */
export interface MetricNumbers {
  AUC: number | null;
  advantage: number | null;
  epsilon_lb: number | null;
  members: number | null;
  non_members: number | null;
}

export interface AttackPayload extends RowTexts, MetricNumbers {
  name: string;
  /** Its curve's colour, the static PNG's (version 2). */
  colour?: string;
  threat?: string; // its threat model, 'black-box' or 'white-box' (render/tables.threat_text)
  balanced_accuracy: number | null;
  curve: Curve | null;
}

/** One group of a slice table (a class of the target, a value or bin of a column). */
export interface SliceRow extends RowTexts, MetricNumbers {
  group: string;
}

/** One slice table of the static report (render/mime_parts.py slices_part). */
export interface SlicePayload {
  column: string;
  /** "By <column>[ (group labels redacted)]: <attack>", as the static report's heading. */
  heading: string;
  attack: string;
  masked: boolean;
  /** The "most exposed" sentence Python decided, or null when no group stands out. */
  finding: string | null;
  rows: SliceRow[];
}

/** The ROC axes' range (render/curves.py), the same as the static plot's. */
export interface RocRange {
  fpr_min: number;
  tpr_min: number;
  tpr_max: number;
}

/** The verdict (mia_notebook/engine/verdict): level, reason, the attack it rests on. */
export interface Verdict {
  level: string;
  reason: string;
  attack: string | null;
  n_identified: number;
  /** The verdict's own FPR target (null at level "none"). */
  fpr: number | null;
  policy_fpr: number[];
  confidence: number;
  tests: number;
}

/**
 * Whether the verdict's attack singles out members beyond chance at one offered FPR
 * target, decided in Python by the verdict's exact test (render/mime.py fpr_claims).
 */
export interface Claim {
  fpr: number;
  claim: boolean;
  /** Members scoring above the attack's threshold there (0 without a claim). */
  identified: number;
  p_value: number | null;
  alpha: number | null;
  why: 'claim' | 'chance' | 'unresolvable' | 'none';
}

export type Cell = string | number | boolean | null;

export interface FlaggedPayload {
  /** The verdict's attack (null at level "none"). */
  attack: string | null;
  /** At most this many records are listed (the report's flag count). */
  limit: number;
  /** Why Python's report lists no record at the verdict's FPR ('' when it lists some). */
  reason: string;
  index_name: string;
  /** The column with each row's rank among the members under the verdict's attack. */
  rank_column: string;
  columns: string[];
  /** Row: the index label, then one cell per column. */
  rows: Cell[][];
  /** The cells as the static table prints them, aligned with `rows` (version 2). */
  text?: string[][];
  /** Rank among the members under every shown attack, aligned with `rows`. */
  ranks: Record<string, number[]>;
  dropped: number;
}

export interface ReportPayload {
  version: number;
  model: string;
  verdict: Verdict;
  strongest: string | null;
  fpr_targets: number[];
  fpr_choices: number[];
  /** Per entry of `fpr_choices`: what an unresolvable target needs, else "" (version 2). */
  choice_notes?: string[];
  /** The ROC axes' range (version 2). */
  roc?: RocRange;
  /** One per entry of `fpr_choices`, same order. */
  claims: Claim[];
  attacks: AttackPayload[];
  /**
   * The shown attacks grouped by rank equivalence (AuditReport.rank_groups): scores that
   * order the records identically, so every number is the same. Absent in payloads
   * written before groups were added: then every attack is its own group.
   */
  groups?: string[][];
  flagged: FlaggedPayload;
  /** The static report's slice tables (version 2; empty at level "none"). */
  slices?: SlicePayload[];
  redacted: string[];
  skipped: Record<string, string>;
  notes: string[];
  settings: Record<string, unknown>;
  truncated: string[];
}

export interface TprAtFpr {
  target: number;
  tpr: number;
  achievedFpr: number;
  /** Index of the chosen point in the stored curve. */
  index: number;
  /** False when fewer than 1/target non-members: the figure is not meaningful. */
  resolvable: boolean;
  /** True when a tied group spans more than the target right above the threshold. */
  coarse: boolean;
}

const EPS = 1e-12;

/** Number of curve points whose FPR is at most `x` (the curve's FPR is non-decreasing). */
function countAtMost(fpr: number[], x: number): number {
  let lo = 0;
  let hi = fpr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fpr[mid] <= x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** TPR at the largest threshold whose FPR does not exceed `target` (metrics.tpr_at_fpr). */
export function tprAtFpr(curve: Curve, target: number): TprAtFpr {
  const index = Math.max(countAtMost(curve.fpr, target + EPS) - 1, 0);
  const resolvable = curve.n_nonmembers * target >= 1 - 1e-9;
  const next = index + 1 < curve.fpr.length ? curve.fpr[index + 1] : undefined;
  const coarse = next !== undefined && next - curve.fpr[index] > target + EPS;
  return {
    target,
    tpr: curve.tpr[index],
    achievedFpr: curve.fpr[index],
    index,
    resolvable,
    coarse,
  };
}

/** The table's note for a TPR cell, worded like metrics.TprAtFpr.note. */
export function tprNote(t: TprAtFpr): string {
  if (!t.resolvable) {
    return needsNote(t.target);
  }
  return t.coarse ? 'coarse: ties' : '';
}

/** "needs ≥ N non-members": what an FPR target too small for the data needs. */
export function needsNote(target: number): string {
  const need = Math.ceil(1 / target - 1e-9);
  return `needs ≥ ${need.toLocaleString('en-US')} non-members`;
}

/** The claim Python decided for `target` (undefined for a target it did not offer). */
export function claimAt(p: ReportPayload, target: number): Claim | undefined {
  return p.claims.find((c) => Math.abs(c.fpr - target) <= EPS * Math.max(1, target));
}

/**
 * Indices into `p.flagged.rows` of the records flagged at `target`: none unless Python
 * decided that the verdict's attack beats chance there; else the rows whose rank among
 * the members under that attack is at most the number it identifies (a member with
 * rank r, ties sharing the lowest rank, scores above the threshold exactly when r <=
 * that count), at most `limit` of them, most exposed first.
 */
export function flaggedRows(p: ReportPayload, target: number): number[] {
  const c = claimAt(p, target);
  const f = p.flagged;
  const col = f.columns.indexOf(f.rank_column) + 1;
  if (!c || !c.claim || col < 1) {
    return [];
  }
  const out: number[] = [];
  f.rows.forEach((row, i) => {
    const rank = row[col];
    if (typeof rank === 'number' && rank >= 1 && rank <= c.identified) {
      out.push(i);
    }
  });
  return out.slice(0, Math.max(f.limit, 0));
}

/** One row of the attack table: the attacks it names and the one whose numbers it shows. */
export interface AttackRow {
  /** Every shown attack of the row, in the payload's order. */
  names: string[];
  /** The row's first shown attack: its numbers are the row's (all are the same). */
  lead: AttackPayload;
  /** The group's first attack, shown or not: it keeps the row's colour when hidden. */
  key: string;
}

/**
 * The attack table's rows: one per group of rank-equivalent attacks (as Python's static
 * report), or one per attack when `perAttack`; hidden attacks left out, and a group
 * whose attacks are all hidden drops its row.
 */
export function attackRows(p: ReportPayload, hidden: Set<string>, perAttack: boolean): AttackRow[] {
  const byName = new Map(p.attacks.map((a) => [a.name, a]));
  const groups = perAttack || !p.groups ? p.attacks.map((a) => [a.name]) : p.groups;
  const rows: AttackRow[] = [];
  for (const group of groups) {
    const names = group.filter((n) => byName.has(n) && !hidden.has(n));
    if (names.length) {
      rows.push({ names, lead: byName.get(names[0])!, key: group[0] });
    }
  }
  return rows;
}

/** Whether some group holds more than one attack (the per-attack toggle then matters). */
export function hasMergedGroups(p: ReportPayload): boolean {
  return (p.groups ?? []).some((g) => g.length > 1);
}

/** Label of the TPR column for `target`, as metrics.fpr_label (e.g. "TPR@0.1%FPR"). */
export function fprLabel(target: number): string {
  return `TPR@${formatG(target * 100, 6)}%FPR`;
}

/** Python's `format(v, '.{digits}g')` for the values used here. */
export function formatG(v: number, digits: number): string {
  if (v === 0 || !isFinite(v)) {
    return String(v);
  }
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= digits) {
    const [m, e] = v.toExponential(digits - 1).split('e');
    const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const sign = e.startsWith('-') ? '-' : '+';
    const mag = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${mag}`;
  }
  const fixed = v.toFixed(Math.max(digits - 1 - exp, 0));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** A number for a table cell: `digits` decimals, "—" when missing. */
export function formatNumber(v: Cell | undefined, digits = 3): string {
  if (v === null || v === undefined) {
    return '—';
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      return v.toLocaleString('en-US');
    }
    // Tiny scores (e.g. a negated loss near 0) keep their significant digits.
    return Math.abs(v) < 10 ** -digits ? formatG(v, digits) : v.toFixed(digits);
  }
  return String(v);
}

/**
 * The verdict's own FPR target when the report shows it (so the first view lists what
 * Python's report lists); else the first of the report's targets every attack's
 * non-members can resolve (e.g. the one FPR an audit panel's view was saved at).
 */
export function defaultTarget(p: ReportPayload): number {
  const own = p.verdict?.fpr;
  if (own !== null && own !== undefined && p.fpr_targets.includes(own)) {
    return own;
  }
  const counts = p.attacks.map((a) => a.curve?.n_nonmembers ?? 0);
  const ok = p.fpr_targets.find((t) => counts.every((n) => n * t >= 1 - 1e-9));
  return ok ?? p.fpr_targets[0] ?? 0.01;
}

/** Index of `target` in the payload's offered targets (-1 when not offered). */
export function choiceIndex(p: ReportPayload, target: number): number {
  return p.fpr_choices.findIndex((c) => Math.abs(c - target) <= EPS * Math.max(1, target));
}

/** The cell of `key` (AUC, advantage, epsilon_lb, members, non_members) as Python wrote
 * it; a payload without texts (version 1) is formatted here. */
export function cellText(row: RowTexts & MetricNumbers, key: keyof MetricNumbers): string {
  return row.text?.[key] ?? formatNumber(row[key]);
}

/** The TPR cell and its note at `target`, as Python wrote them; for a payload without
 * them (version 1), computed from `curve`. */
export function tprCell(
  p: ReportPayload,
  row: RowTexts,
  target: number,
  curve: Curve | null,
): [string, string] {
  const i = choiceIndex(p, target);
  if (i >= 0 && row.tpr_text && row.tpr_note) {
    return [row.tpr_text[i], row.tpr_note[i]];
  }
  if (!curve) {
    return ['—', 'no ROC'];
  }
  const t = tprAtFpr(curve, target);
  return [t.resolvable ? t.tpr.toFixed(3) : 'n/a', tprNote(t)];
}

/** The flagged table's cells of row `i` as the static table prints them (version 2),
 * else formatted here. */
export function flaggedText(f: FlaggedPayload, i: number): string[] {
  return f.text?.[i] ?? f.rows[i].map((c) => formatNumber(c, 4));
}
