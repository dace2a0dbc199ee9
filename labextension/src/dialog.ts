/** The body of the "Audit a model…" dialog: model, train, test, target and main options. */
import { Widget } from '@lumino/widgets';

import {
  AuditOptions,
  Candidates,
  DEFAULTS,
  frameLabel,
  guess,
  guessTarget,
  sharedColumns,
} from './audit';

function field(label: string, control: HTMLElement, hint = ''): HTMLElement {
  const row = document.createElement('label');
  row.className = 'mia-audit-field';
  const name = document.createElement('span');
  name.textContent = label;
  row.append(name, control);
  if (hint) {
    const small = document.createElement('small');
    small.textContent = hint;
    row.appendChild(small);
  }
  return row;
}

function select(
  name: string,
  options: string[],
  value: string,
  label: (o: string) => string = (o) => o || '(none)',
): HTMLSelectElement {
  const s = document.createElement('select');
  s.name = name;
  fill(s, options, value, label);
  return s;
}

function fill(
  s: HTMLSelectElement,
  options: string[],
  value: string,
  label: (o: string) => string = (o) => o || '(none)',
): void {
  s.replaceChildren(
    ...options.map((o) => {
      const opt = document.createElement('option');
      opt.value = o;
      opt.textContent = label(o);
      opt.selected = o === value;
      return opt;
    }),
  );
}

function input(name: string, value: string, type = 'text'): HTMLInputElement {
  const i = document.createElement('input');
  i.name = name;
  i.type = type;
  i.value = value;
  return i;
}

const ATTACKS = [
  ['auto', 'auto: threshold attacks + reference-model attacks (slower)'],
  ['loss,confidence,entropy', 'fast: loss, confidence, entropy (no reference models)'],
  ['all', 'all computable attacks'],
];

/** The form; `getValue()` is what Dialog returns on "Audit". */
export class AuditForm extends Widget {
  private model: HTMLSelectElement;
  private train: HTMLSelectElement;
  private test: HTMLSelectElement;
  private target: HTMLSelectElement;
  private slice: HTMLSelectElement;
  private person: HTMLSelectElement;
  private attacks: HTMLSelectElement;
  private fpr = input('fpr', DEFAULTS.fpr);
  private flag = input('flag', String(DEFAULTS.flag), 'number');
  private redact = input('redact', '');

  constructor(private candidates: Candidates) {
    super();
    this.addClass('mia-audit-form');
    const frames = Object.keys(candidates.frames);
    const rows = (name: string): string => frameLabel(name, candidates.frames[name]);
    this.model = select('model', candidates.models, candidates.models[0] ?? '');
    this.train = select('train', frames, guess(frames, /train/i, 0), rows);
    this.test = select('test', frames, guess(frames, /test|valid|holdout/i, 1), rows);
    this.target = select('target', [], '');
    this.slice = select('slice', [], '');
    this.person = select('person', [], '');
    this.attacks = document.createElement('select');
    this.attacks.name = 'attacks';
    for (const [value, text] of ATTACKS) {
      const opt = document.createElement('option');
      opt.value = value;
      opt.textContent = text;
      this.attacks.appendChild(opt);
    }
    this.flag.min = '0';
    this.train.addEventListener('change', () => this.refreshColumns());
    this.test.addEventListener('change', () => this.refreshColumns());
    this.refreshColumns();
    this.node.append(
      field('Model', this.model),
      field('Train (members)', this.train),
      field('Test (non-members)', this.test),
      field('Target column', this.target),
      field(
        'Person column',
        this.person,
        'whose data a row is (a patient, a customer); none: rows',
      ),
      field('Attacks', this.attacks),
      field('FPR targets', this.fpr, 'comma-separated, in (0, 1)'),
      field('Records to flag', this.flag),
      field('Slice by', this.slice),
      field('Redact columns', this.redact, 'comma-separated; never shown'),
      this.more,
    );
    this.node.addEventListener('scroll', () => this.updateMore());
  }

  /** Shown while the dialog's body has fields below its bottom edge (a short window). */
  private more = Object.assign(document.createElement('div'), {
    className: 'mia-audit-more',
    textContent: 'More options below: scroll ▾',
  });

  private updateMore(): void {
    const n = this.node;
    this.more.hidden = n.scrollHeight - n.scrollTop - n.clientHeight <= 4;
  }

  protected onAfterAttach(): void {
    requestAnimationFrame(() => this.updateMore());
  }

  protected onResize(): void {
    this.updateMore();
  }

  private refreshColumns(): void {
    const cols = sharedColumns(this.candidates, this.train.value, this.test.value);
    fill(this.target, cols, guessTarget(cols));
    fill(this.slice, ['', ...cols], '');
    fill(this.person, ['', ...cols], '');
  }

  getValue(): AuditOptions {
    return {
      model: this.model.value,
      train: this.train.value,
      test: this.test.value,
      target: this.target.value,
      attacks: this.attacks.value,
      fpr: this.fpr.value,
      flag: Math.max(0, Math.floor(Number(this.flag.value) || 0)),
      redact: this.redact.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      slice: this.slice.value,
      person: this.person.value,
    };
  }
}
