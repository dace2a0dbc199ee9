/**
 * Pure computations on the comparison payload (mia_notebook/render/mime_compare.py): no
 * DOM, no JupyterLab. Every model carries its own single-report payload, so each model's
 * TPR at a target FPR comes from its stored thinned curve through compute.ts's tprAtFpr,
 * and whether the model singles out members there is the claim Python stored (claimAt):
 * nobody at level "none".
 */
import {
  AttackPayload,
  Claim,
  claimAt,
  readReport,
  ReportPayload,
  TprAtFpr,
  tprAtFpr,
} from './compute';

/** The MIME type written by mia_notebook/render/mime_compare.py. */
export const COMPARISON_MIME_TYPE = 'application/vnd.mia-notebook.comparison.v1+json';

export interface ComparisonModel {
  name: string;
  /** The model's class (a Pipeline's with its final step's). */
  estimator: string;
  /** The `outputs=` form the audit saw: 'proba', 'label', 'topk:K', 'round:D'. */
  outputs: string;
  /** Task utility on test (accuracy and roc_auc, or r2). */
  utility: Record<string, number | null>;
  level: string;
  /** The threat model the level is judged in ('black-box', 'white-box'; null: one). */
  setting?: string | null;
  /** The verdict's attack; at level "none" the attack with the highest AUC (for reference). */
  attack: string | null;
  /** That attack's threat model. */
  threat?: string | null;
  epsilon_lb: number | null;
  /** Clopper-Pearson interval of the row attack's TPR per offered target (report.fpr_choices). */
  intervals: ([number | null, number | null] | null)[];
  /** The model's own report payload, its records removed. */
  report: ReportPayload;
}

export interface ComparisonPayload {
  version: number;
  kind: 'comparison';
  /** The comparison's FPR: the largest policy target the non-members resolve. */
  fpr: number;
  fpr_choices: number[];
  baseline: string;
  riskiest: string;
  verdict_line: string;
  utility_columns: string[];
  confidence: number;
  notes: string[];
  models: ComparisonModel[];
  truncated: string[];
}

/** One model's figures at one FPR target. */
export interface ModelAt {
  model: ComparisonModel;
  /** The row attack's curve entry (null when the payload has none). */
  attack: AttackPayload | null;
  /** Its TPR from the stored curve (null without a curve). */
  tpr: TprAtFpr | null;
  /** Python's Clopper-Pearson interval there (null when unresolvable or not offered). */
  interval: [number | null, number | null] | null;
  /** Python's claim for the model's verdict attack there. */
  claim: Claim | undefined;
}

const EPS = 1e-12;

/** Whether `p` looks like a comparison payload this renderer can draw. */
export function isComparison(p: unknown): p is ComparisonPayload {
  const c = p as ComparisonPayload | null;
  return !!c && c.version === 1 && c.kind === 'comparison' && Array.isArray(c.models);
}

/** `p` as the views read it: every model's report through `readReport`. */
export function readComparison(p: ComparisonPayload): ComparisonPayload {
  return { ...p, models: p.models.map((m) => ({ ...m, report: readReport(m.report) })) };
}

/** `m`'s row attack, TPR, interval and claim at `target`. */
export function modelAt(m: ComparisonModel, target: number): ModelAt {
  const attack = m.report.attacks.find((a) => a.name === m.attack) ?? null;
  const tpr = attack?.curve ? tprAtFpr(attack.curve, target) : null;
  const i = m.report.fpr_choices.findIndex((c) => Math.abs(c - target) <= EPS * Math.max(1, c));
  const interval = i >= 0 ? (m.intervals[i] ?? null) : null;
  return { model: m, attack, tpr, interval, claim: claimAt(m.report, target) };
}

/** The TPR cell: 3 decimals, "—" when the target cannot be resolved or there is no curve. */
export function tprText(at: ModelAt): string {
  return at.tpr && at.tpr.resolvable ? at.tpr.tpr.toFixed(3) : '—';
}

/** The signed difference to the baseline's TPR (3 decimals), "—" when either is missing. */
export function tprDelta(at: ModelAt, base: ModelAt): string {
  if (!at.tpr?.resolvable || !base.tpr?.resolvable) {
    return '—';
  }
  const d = Math.round((at.tpr.tpr - base.tpr.tpr) * 1000) / 1000 + 0;
  return `${d >= 0 ? '+' : ''}${d.toFixed(3)}`;
}

/**
 * What the model's verdict attack does at this target, in Python's words: the members it
 * singles out beyond chance ("12 members"), or why it singles out none. At level "none"
 * it never names a count.
 */
export function exposureText(at: ModelAt): string {
  const c = at.claim;
  if (at.model.level === 'none' || !c || c.why === 'none') {
    return 'none (no attack beats chance)';
  }
  if (c.why === 'unresolvable') {
    return 'not resolvable at this FPR';
  }
  if (!c.claim) {
    return 'none beyond chance here';
  }
  return `${c.identified.toLocaleString('en-US')} members`;
}

/** Risk levels in order; a level's index is its rank (engine/verdict/policy.py LEVELS). */
export const LEVELS = ['none', 'low', 'elevated', 'high'];

/** Risk-level steps from the baseline (+1: one level riskier), as Python's `level_change`. */
export function levelChange(level: string, base: string): string {
  const d = LEVELS.indexOf(level) - LEVELS.indexOf(base);
  return `${d >= 0 ? '+' : ''}${d}`;
}
