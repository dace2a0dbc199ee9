/**
 * The interactive report, built from the payload alone (no kernel). DOM is created with
 * createElement/textContent only, so user values are never parsed as markup and no
 * script reaches the output. Controls are created once; a change re-draws only the
 * tables and the plot, so the control keeps focus.
 */
import {
  attackRows,
  AttackRow,
  Cell,
  cellText,
  Claim,
  claimAt,
  defaultTarget,
  flaggedRows,
  flaggedText,
  formatG,
  formatNumber,
  fprLabel,
  hasMergedGroups,
  MetricNumbers,
  needsNote,
  ReportPayload,
  RowTexts,
  SlicePayload,
  TprAtFpr,
  tprAtFpr,
  tprCell,
} from './compute';
import { el, fprControl, pct } from './dom';
import { flaggedBody, peopleRows } from './people';
import { threatText, withThreat } from './threat';
import { rocRange } from './geometry';
import { sortOrder } from './sort';
import { drawRoc, PALETTE } from './roc';

interface State {
  target: number;
  hidden: Set<string>;
  sortCol: number;
  descending: boolean;
  /** One row per attack instead of one per group of rank-equivalent attacks. */
  perAttack: boolean;
}

const HOVER = 'Hover over the curves for FPR, TPR and threshold.';

/** The metric columns after the row's name, for the FPR control's `target`. */
const METRIC_HEAD = (target: number): string[] => [
  'AUC',
  fprLabel(target),
  'advantage',
  'ε lower bound',
  'members',
  'non-members',
];

/** A metric table (summary or slice) of text cells; the TPR column is marked. */
function metricTable(className: string, head: string[], body: string[][]): HTMLTableElement {
  const table = el('table', { className: `mia-table ${className}` });
  table.appendChild(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))));
  const tbody = el('tbody');
  for (const cells of body) {
    const row = el('tr', {}, ...cells.map((c) => el('td', { text: c })));
    row.cells[0].className = 'mia-text';
    row.cells[2].className = 'mia-tpr';
    tbody.appendChild(row);
  }
  table.appendChild(tbody);
  return table;
}

/** What the report counts: 'people' when it was audited with a person column. */
export function units(p: ReportPayload): string {
  return p.settings['person'] ? 'people' : 'records';
}

/** Why the records listed at the chosen target are (or are not) accused. */
export function flagSummary(p: ReportPayload, c: Claim | undefined, listed: number): string {
  const v = p.verdict;
  const none = `No ${units(p)} listed`;
  const at = c ? `≤ ${pct(c.fpr)} FPR` : 'this FPR target';
  if (v.level === 'none' || !v.attack || !c || c.why === 'none') {
    return `${none}: ${v.reason}`;
  }
  if (c.why === 'unresolvable') {
    return (
      `${none}: ${at} cannot be resolved with the non-members held out ` +
      `(${needsNote(c.fpr)}); choose a larger FPR target.`
    );
  }
  const test = `p = ${formatG(c.p_value ?? 1, 2)}, corrected α = ${formatG(c.alpha ?? 0, 2)}`;
  if (!c.claim) {
    return (
      `${none}: at ${at} the ${v.attack} attack does not single out members ` +
      `beyond chance (${test}).`
    );
  }
  const more = c.identified > listed ? `; the ${listed} most exposed are listed` : '';
  return (
    `${c.identified.toLocaleString('en-US')} members identified by the ${v.attack} attack ` +
    `at ${at} (${test})${more}.`
  );
}

/** The report view: call `render(payload)` once; returns the root element. */
export class ReportView {
  readonly node: HTMLDivElement;
  private payload: ReportPayload | null = null;
  private state: State = {
    target: 0.01,
    hidden: new Set(),
    sortCol: -1,
    descending: false,
    perAttack: false,
  };
  private colors = new Map<string, string>();
  /** Flagged people (indices into `flagged.rows`) whose rows are expanded. */
  private expanded = new Set<number>();
  private body = el('div', { className: 'mia-lab-body' });
  private readout = el('div', { className: 'mia-roc-readout', text: '' });

  constructor() {
    this.node = el('div', { className: 'mia-lab-report' });
    this.node.setAttribute('data-mia-report', '');
  }

  render(payload: ReportPayload): void {
    this.payload = payload;
    payload.attacks.forEach((a, i) =>
      this.colors.set(a.name, a.colour ?? PALETTE[i % PALETTE.length]),
    );
    this.state.target = defaultTarget(payload);
    this.node.replaceChildren(
      el('h3', { text: `Membership-inference audit: ${payload.model}` }),
      this.verdictLine(payload),
      this.controls(payload),
      this.body,
      this.footer(payload),
    );
    this.update();
  }

  private verdictLine(p: ReportPayload): HTMLElement {
    const v = p.verdict;
    const line = el('div', { className: 'mia-verdict' });
    line.classList.add(`mia-verdict-${String(v.level).toLowerCase()}`);
    line.append(el('strong', { text: `Privacy risk: ${v.level}` }), ` — ${v.reason}`);
    return line;
  }

  private controls(p: ReportPayload): HTMLElement {
    const fpr = fprControl(
      p.fpr_choices,
      this.state.target,
      (target) => {
        this.state.target = target;
        this.update();
      },
      p.choice_notes,
    );
    const boxes = el('span', { className: 'mia-attack-toggles' }, 'Show: ');
    for (const a of p.attacks) {
      const box = el('input');
      box.type = 'checkbox';
      box.checked = true;
      box.value = a.name;
      box.addEventListener('change', () => {
        box.checked ? this.state.hidden.delete(a.name) : this.state.hidden.add(a.name);
        this.update();
      });
      const name = withThreat(a.name, a.threat ?? '');
      const tag = el('label', { className: 'mia-attack-toggle' }, box, ` ${name}`);
      tag.style.borderBottomColor = this.colors.get(a.name) ?? PALETTE[0];
      boxes.appendChild(tag);
    }
    const controls = el('div', { className: 'mia-controls' }, ...fpr, boxes);
    if (hasMergedGroups(p)) {
      const all = el('input');
      all.type = 'checkbox';
      all.addEventListener('change', () => {
        this.state.perAttack = all.checked;
        this.update();
      });
      controls.appendChild(
        el('label', { className: 'mia-per-attack' }, all, ' one row per attack'),
      );
    }
    return controls;
  }

  private footer(p: ReportPayload): HTMLElement {
    const box = el('div', { className: 'mia-note' });
    for (const [k, v] of Object.entries(p.skipped)) {
      box.appendChild(el('div', { text: `Not run: ${k}: ${v}` }));
    }
    for (const n of [...p.notes, ...p.truncated]) {
      box.appendChild(el('div', { text: n }));
    }
    if (p.redacted.length) {
      box.appendChild(el('div', { text: `Redacted columns: ${p.redacted.join(', ')}` }));
    }
    return box;
  }

  /** Re-draw what depends on the state: summary table, ROC, flagged table. */
  private update(): void {
    const p = this.payload;
    if (!p) {
      return;
    }
    const rows = attackRows(p, this.state.hidden, this.state.perAttack);
    const series = rows.map((r) => ({
      name: withThreat(r.names.join(', '), this.rowThreat(r)),
      curve: r.lead.curve,
    }));
    const colors = new Map<string, string>();
    const chosen = new Map<string, TprAtFpr>();
    rows.forEach((r, i) => {
      const color = this.colors.get(this.state.perAttack ? r.lead.name : r.key);
      colors.set(series[i].name, color ?? PALETTE[0]);
      if (r.lead.curve) {
        chosen.set(series[i].name, tprAtFpr(r.lead.curve, this.state.target));
      }
    });
    const range = rocRange(
      p,
      p.attacks.map((a) => a.curve?.n_nonmembers ?? 0),
    );
    const roc = drawRoc(
      { series, colors, chosen, target: this.state.target, range, verdictFpr: p.verdict.fpr },
      (text) => (this.readout.textContent = text || HOVER),
    );
    this.readout.textContent = HOVER;
    this.body.replaceChildren(
      el('div', { className: 'mia-table-scroll' }, this.summaryTable(rows)),
      ...this.groupNote(rows),
      el('div', { className: 'mia-roc' }, roc, this.readout),
      this.flaggedSection(p),
      this.slicesSection(p),
    );
  }

  private groupNote(rows: AttackRow[]): HTMLElement[] {
    if (!rows.some((r) => r.names.length > 1)) {
      return [];
    }
    const text =
      'Attacks in one row order the records identically, so every number is the same ' +
      'for each; tick "one row per attack" to list them separately.';
    return [el('div', { className: 'mia-note mia-group-note', text })];
  }

  /** The threat-model cell of a row's attacks. */
  private rowThreat(r: AttackRow): string {
    const byName = new Map(this.payload!.attacks.map((a) => [a.name, a]));
    return threatText(r.names.map((n) => byName.get(n)!));
  }

  private summaryTable(rows: AttackRow[]): HTMLElement {
    const p = this.payload!;
    const target = this.state.target;
    const threat = rows.map((r) => this.rowThreat(r));
    const label = threat.some((t) => t) ? ['threat model'] : [];
    const body = rows.map((r, i) => {
      const [tpr, note] = tprCell(p, r.lead, target, r.lead.curve);
      const cells = [r.names.join(', '), ...this.metricCells(r.lead, tpr)];
      return [...cells, ...(label.length ? [threat[i]] : []), note];
    });
    const head = ['attack', ...METRIC_HEAD(target), ...label, 'note'];
    const table = metricTable('mia-summary', head, body);
    Array.from(table.tBodies[0].rows).forEach((row, i) => {
      row.dataset.attacks = rows[i].names.join(',');
    });
    return table;
  }

  /** AUC, TPR, advantage, ε, members, non-members: Python's texts. */
  private metricCells(row: RowTexts & MetricNumbers, tpr: string): string[] {
    return [
      cellText(row, 'AUC'),
      tpr,
      cellText(row, 'advantage'),
      cellText(row, 'epsilon_lb'),
      cellText(row, 'members'),
      cellText(row, 'non_members'),
    ];
  }

  /**
   * The static report's slice tables (per class of the target and per value of the slice
   * column, of the verdict's attack), their TPR at the FPR control's target; the root
   * carries `data-mia-slices`. Every text is Python's, including the "most exposed"
   * sentence, which does not depend on the FPR target.
   */
  private slicesSection(p: ReportPayload): HTMLElement {
    const box = el('div', { className: 'mia-slices' });
    box.setAttribute('data-mia-slices', '');
    for (const s of p.slices ?? []) {
      box.appendChild(this.sliceTable(p, s));
    }
    return box;
  }

  private sliceTable(p: ReportPayload, s: SlicePayload): HTMLElement {
    const target = this.state.target;
    const part = el('div', { className: 'mia-slice' }, el('h4', { text: s.heading }));
    part.dataset.column = s.column;
    if (s.finding) {
      part.appendChild(el('div', { className: 'mia-finding', text: s.finding }));
    }
    const body = s.rows.map((r) => {
      const [tpr, note] = tprCell(p, r, target, null);
      return [r.group, ...this.metricCells(r, tpr), note];
    });
    const head = [s.column, ...METRIC_HEAD(target), 'note'];
    part.appendChild(
      el('div', { className: 'mia-table-scroll' }, metricTable('mia-slice-table', head, body)),
    );
    return part;
  }

  private flaggedSection(p: ReportPayload): HTMLElement {
    const f = p.flagged;
    const claim = claimAt(p, this.state.target);
    const listed = flaggedRows(p, this.state.target);
    const box = el('div', { className: 'mia-flagged' }, el('h4', { text: `Flagged ${units(p)}` }));
    box.appendChild(
      el('div', { className: 'mia-flag-summary', text: flagSummary(p, claim, listed.length) }),
    );
    if (listed.length === 0) {
      return box;
    }
    // The rank under every shown attack follows the row (hidden attacks drop their column).
    const shown = p.attacks.map((a) => a.name).filter((a) => !this.state.hidden.has(a));
    const rankNames = shown.filter((a) => f.ranks[a] !== undefined);
    // Sorted by the values, shown as the static table prints them.
    const rows: Cell[][] = listed.map((i) => [
      ...f.rows[i],
      ...rankNames.map((a) => f.ranks[a][i]),
    ]);
    const texts: string[][] = listed.map((i) => [
      ...flaggedText(f, i),
      ...rankNames.map((a) => formatNumber(f.ranks[a][i])),
    ]);
    const head = [f.index_name, ...f.columns, ...rankNames.map((a) => `rank (${a})`)];
    // Wide tables scroll inside their own box, so the rest of the report stays in view.
    const scroll = el(
      'div',
      { className: 'mia-table-scroll' },
      this.flaggedTable(head, rows, texts, listed),
    );
    scroll.tabIndex = 0; // keyboard users can scroll it too
    box.appendChild(scroll);
    if (f.dropped) {
      box.appendChild(
        el('div', { className: 'mia-note', text: `${f.dropped} more columns not shown.` }),
      );
    }
    return box;
  }

  private flaggedTable(
    head: string[],
    rows: Cell[][],
    texts: string[][],
    listed: number[],
  ): HTMLElement {
    const { sortCol, descending } = this.state;
    const order = sortCol >= 0 ? sortOrder(rows, sortCol, descending) : rows.map((_, i) => i);
    const table = el('table', { className: 'mia-table mia-flagged-table' });
    const ths = head.map((h, i) => {
      const button = el('button', { className: 'mia-sort', text: h });
      button.type = 'button';
      button.addEventListener('click', () => {
        this.state.descending = this.state.sortCol === i ? !this.state.descending : false;
        this.state.sortCol = i;
        this.update();
      });
      const th = el('th', {}, button);
      th.setAttribute(
        'aria-sort',
        i !== sortCol ? 'none' : descending ? 'descending' : 'ascending',
      );
      return th;
    });
    const people = this.payload ? peopleRows(this.payload.flagged) : undefined;
    table.appendChild(el('thead', {}, el('tr', {}, ...(people ? [el('th')] : []), ...ths)));
    const toggle = (i: number): void => {
      this.expanded.has(i) ? this.expanded.delete(i) : this.expanded.add(i);
      this.update();
    };
    table.appendChild(flaggedBody(texts, order, listed, people, this.expanded, toggle));
    return table;
  }
}
