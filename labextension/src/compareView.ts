/**
 * The interactive comparison of models, built from the comparison payload alone (no
 * kernel): every model's verdict, the models' table (utility against risk, as Python's
 * static comparison), the change against the baseline, one FPR-target control that
 * recomputes every model's TPR from its stored curve, and the overlaid ROC curves of
 * each model's row attack with hover read-outs. DOM through textContent only; the
 * control is created once and keeps focus while the tables and the plot re-draw.
 */
import { formatG, TprAtFpr, tprNote } from './compute';
import {
  ComparisonModel,
  ComparisonPayload,
  exposureText,
  levelChange,
  ModelAt,
  modelAt,
  tprDelta,
  tprText,
} from './comparison';
import { el, fprControl, textTable } from './dom';
import { rocRange } from './geometry';
import { drawRoc, PALETTE, Series } from './roc';
import { withThreat } from './threat';

/** Level cell backgrounds, as Python's static comparison (render/compare.py). */
const LEVEL_COLOURS: Record<string, string> = {
  none: '#dafbe1',
  low: '#fff8c5',
  elevated: '#fff1e5',
  high: '#ffebe9',
};
const HOVER = 'Hover over the curves for FPR, TPR and threshold.';

function fixed3(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toFixed(3);
}

function signed3(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined) {
    return '—';
  }
  const d = Math.round((a - b) * 1000) / 1000 + 0;
  return `${d >= 0 ? '+' : ''}${d.toFixed(3)}`;
}

/** The comparison view: call `render(payload)` once; `node` is the root element. */
export class ComparisonView {
  readonly node: HTMLDivElement;
  private payload: ComparisonPayload | null = null;
  private target = 0.01;
  private body = el('div', { className: 'mia-lab-body' });
  private readout = el('div', { className: 'mia-roc-readout', text: HOVER });

  constructor() {
    this.node = el('div', { className: 'mia-lab-report mia-lab-comparison' });
    this.node.setAttribute('data-mia-comparison', '');
  }

  render(p: ComparisonPayload): void {
    this.payload = p;
    this.target = p.fpr_choices.includes(p.fpr) ? p.fpr : (p.fpr_choices[0] ?? p.fpr);
    const riskiest = p.models.find((m) => m.name === p.riskiest);
    const line = el('div', { className: 'mia-verdict', text: p.verdict_line });
    line.classList.add(`mia-verdict-${riskiest?.level ?? 'none'}`);
    const conf = `${Math.round(p.confidence * 100)}%`;
    const intro =
      `Same records for every model; TPR of each model's verdict attack at the chosen FPR ` +
      `with its ${conf} interval; utility on test. Baseline for the deltas: ${p.baseline}.`;
    const controls = fprControl(p.fpr_choices, this.target, (target) => {
      this.target = target;
      this.update();
    });
    this.node.replaceChildren(
      el('h3', { text: `Membership-inference comparison of ${p.models.length} models` }),
      line,
      this.verdicts(p.models),
      el('div', { className: 'mia-note', text: intro }),
      el('div', { className: 'mia-controls' }, ...controls),
      this.body,
      this.footer(p),
    );
    this.update();
  }

  /** Every model's verdict: level and reason. */
  private verdicts(models: ComparisonModel[]): HTMLElement {
    const list = el('ul', { className: 'mia-model-verdicts' });
    for (const m of models) {
      const item = el('li', {}, el('strong', { text: `${m.name}: ${m.level}` }));
      item.append(` — ${m.report.verdict.reason}`);
      item.dataset.model = m.name;
      list.appendChild(item);
    }
    return list;
  }

  private footer(p: ComparisonPayload): HTMLElement {
    const box = el('div', { className: 'mia-note' });
    for (const n of [...p.notes, ...p.truncated]) {
      box.appendChild(el('div', { text: n }));
    }
    return box;
  }

  private update(): void {
    const p = this.payload;
    if (!p) {
      return;
    }
    const rows = p.models.map((m) => modelAt(m, this.target));
    this.readout.textContent = HOVER;
    this.body.replaceChildren(
      el('h4', { text: 'Models' }),
      this.table(p, rows),
      el('h4', { text: 'Change against the baseline' }),
      this.deltas(p, rows),
      el('h4', { text: "ROC curves (each model's verdict attack)" }),
      this.roc(rows),
    );
  }

  private table(p: ComparisonPayload, rows: ModelAt[]): HTMLElement {
    const conf = `${Math.round(p.confidence * 100)}% interval`;
    const head = [
      'model',
      'outputs',
      ...p.utility_columns,
      'level',
      'setting',
      'attack',
      `TPR @ FPR ${formatG(this.target, 6)}`,
      conf,
      'ε ≥',
      'members singled out',
      'note',
    ];
    const cells = rows.map((at) => {
      const m = at.model;
      const [lo, hi] = at.interval ?? [null, null];
      return [
        m.name,
        m.outputs,
        ...p.utility_columns.map((c) => fixed3(m.utility[c])),
        m.level,
        m.setting ?? '–',
        m.attack ? withThreat(m.attack, m.threat ?? '') : '–',
        tprText(at),
        at.interval ? `${fixed3(lo)} – ${fixed3(hi)}` : '—',
        fixed3(m.epsilon_lb),
        exposureText(at),
        at.tpr ? tprNote(at.tpr) : 'no ROC',
      ];
    });
    const table = textTable('mia-compare-table', head, cells);
    const level = head.indexOf('level');
    Array.from(table.tBodies[0].rows).forEach((tr, i) => {
      const m = rows[i].model;
      tr.dataset.model = m.name;
      tr.cells[0].title = m.estimator; // the class, as Python's text view lists it
      tr.cells[level + 3].className = 'mia-tpr';
      tr.cells[level].style.backgroundColor = LEVEL_COLOURS[m.level] ?? '';
    });
    // Wide tables scroll inside their own box, so the rest of the view stays in place.
    return el('div', { className: 'mia-table-scroll' }, table);
  }

  private deltas(p: ComparisonPayload, rows: ModelAt[]): HTMLElement {
    const base = rows.find((r) => r.model.name === p.baseline) ?? rows[0];
    // headed as the models table (and Python's static view) head them
    const tpr = `TPR @ FPR ${formatG(this.target, 6)}`;
    const head = ['model', ...p.utility_columns, tpr, 'ε ≥', 'level change'];
    const cells = rows.map((at) => [
      at.model.name,
      ...p.utility_columns.map((c) => signed3(at.model.utility[c], base.model.utility[c])),
      tprDelta(at, base),
      signed3(at.model.epsilon_lb, base.model.epsilon_lb),
      levelChange(at.model.level, base.model.level),
    ]);
    return textTable('mia-compare-deltas', head, cells);
  }

  private roc(rows: ModelAt[]): HTMLElement {
    const series: Series[] = [];
    const colors = new Map<string, string>();
    const chosen = new Map<string, TprAtFpr>();
    const legend = el('div', { className: 'mia-compare-legend' });
    rows.forEach((at, i) => {
      const name = at.model.name;
      const color = PALETTE[i % PALETTE.length];
      series.push({ name, curve: at.attack?.curve ?? null });
      colors.set(name, color);
      if (at.tpr) {
        chosen.set(name, at.tpr);
      }
      const tag = el('span', {
        className: 'mia-attack-toggle',
        text: `${name} [${at.model.level}]: ${withThreat(at.model.attack ?? '–', at.model.threat ?? '')}`,
      });
      tag.style.borderBottomColor = color;
      const entry = el('div', {}, tag);
      entry.style.marginBottom = '6px';
      legend.appendChild(entry);
    });
    // The baseline's axes, as the static comparison plot (its non-members).
    const baseline = this.payload?.models.find((m) => m.name === this.payload?.baseline);
    const range = rocRange(
      baseline?.report ?? {},
      rows.map((r) => r.attack?.curve?.n_nonmembers ?? 0),
    );
    const svg = drawRoc(
      {
        series,
        colors,
        chosen,
        target: this.target,
        range,
        label: "ROC curve of each model's verdict attack",
      },
      (text) => (this.readout.textContent = text || HOVER),
    );
    return el('div', { className: 'mia-roc' }, svg, el('div', {}, legend, this.readout));
  }
}
