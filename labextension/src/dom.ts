/**
 * DOM helpers shared by the report and comparison views: elements are made with
 * createElement and filled with textContent only, so user values are never parsed as
 * markup and no script reaches the output.
 */
import { formatG } from './compute';

/** `<tag class=className>text children…</tag>`, built without markup strings. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  node.append(...children);
  return node;
}

/** An FPR target as a percentage, e.g. 0.001 -> "0.1%". */
export function pct(target: number): string {
  return `${formatG(target * 100, 6)}%`;
}

/** The FPR-target control: a `<select>` of `choices` labelled "FPR target"; a choice with
 * a note (what an unresolvable target needs) shows it beside its value. */
export function fprControl(
  choices: number[],
  selected: number,
  onChange: (target: number) => void,
  notes: string[] = [],
): HTMLElement[] {
  const select = el('select', { className: 'mia-fpr-select' });
  select.id = `mia-fpr-${Math.random().toString(36).slice(2)}`;
  for (const [i, c] of choices.entries()) {
    const opt = el('option', { text: notes[i] ? `${pct(c)} (${notes[i]})` : pct(c) });
    opt.value = String(c);
    opt.selected = c === selected;
    select.appendChild(opt);
  }
  select.addEventListener('change', () => onChange(Number(select.value)));
  const label = el('label', { text: 'FPR target ' });
  label.htmlFor = select.id;
  return [label, select];
}

/** A table with header row `head` and body rows of text cells. */
export function textTable(className: string, head: string[], rows: string[][]): HTMLTableElement {
  const table = el('table', { className: `mia-table ${className}` });
  table.appendChild(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))));
  const tbody = el('tbody');
  for (const cells of rows) {
    tbody.appendChild(el('tr', {}, ...cells.map((c) => el('td', { text: c }))));
  }
  table.appendChild(tbody);
  return table;
}
