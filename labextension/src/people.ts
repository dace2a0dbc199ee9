/**
 * Under `person=`: the flagged people's rows (the payload's `flagged.people`), each
 * person's shown on expand as the static report lists them (redacted, cells' texts
 * formatted by Python). DOM built with textContent only: values are never markup.
 */
import { FlaggedPayload } from './compute';
import { el, textTable } from './dom';

export interface PeopleRows {
  /** Header of the rows' index column. */
  index_name: string;
  columns: string[];
  /** Per entry of `flagged.rows`: that person's rows, each the index label then cells. */
  text: string[][][];
  /** Per entry of `flagged.rows`: that person's number of rows. */
  counts: number[];
  /** Most rows of the flagged people listed in all. */
  limit: number;
  /** Columns not shown (wide data). */
  dropped: number;
}

/** The flagged people's rows, when the payload holds them. */
export function peopleRows(f: FlaggedPayload): PeopleRows | undefined {
  return (f as FlaggedPayload & { people?: PeopleRows }).people;
}

/** What person `i`'s expanded rows show: the header, their rows (index label, then the
 * cells as Python formatted them) and notes on what the payload's caps cut. */
export function personView(
  people: PeopleRows,
  i: number,
): { head: string[]; rows: string[][]; notes: string[] } {
  const rows = people.text[i] ?? [];
  const count = people.counts[i] ?? rows.length;
  const notes: string[] = [];
  if (rows.length < count) {
    notes.push(
      `${rows.length} of this person's ${count} rows shown ` +
        `(at most ${people.limit} rows of the flagged people are listed).`,
    );
  }
  if (people.dropped) {
    notes.push(`${people.dropped} more columns not shown.`);
  }
  return { head: [people.index_name, ...people.columns], rows, notes };
}

/** The table of person `i`'s rows (index into `flagged.rows`), with what was cut. */
export function personRowsTable(people: PeopleRows, i: number): HTMLElement {
  const { head, rows, notes } = personView(people, i);
  const box = el('div', { className: 'mia-person-rows' });
  box.appendChild(textTable('mia-person-rows-table', head, rows));
  for (const note of notes) {
    box.appendChild(el('div', { className: 'mia-note', text: note }));
  }
  return box;
}

/** The first cell of person `i`'s row in the flagged table: a button that expands (or
 * collapses, when `open`) their rows. */
export function personToggle(open: boolean, onToggle: () => void): HTMLTableCellElement {
  const button = el('button', { className: 'mia-person-toggle', text: open ? '▾ rows' : '▸ rows' });
  button.type = 'button';
  button.setAttribute('aria-expanded', String(open));
  button.addEventListener('click', onToggle);
  return el('td', {}, button);
}

/** The row under person `i`'s that holds their rows' table, across `span` columns. */
export function personDetail(people: PeopleRows, i: number, span: number): HTMLElement {
  const cell = el(
    'td',
    {},
    el('div', { className: 'mia-table-scroll' }, personRowsTable(people, i)),
  );
  cell.colSpan = span;
  return el('tr', { className: 'mia-person-detail' }, cell);
}

/**
 * The flagged table's body: the rows `texts` in `order` (`listed[j]` is row j's index into
 * `flagged.rows`); with `people`, each row opens with its toggle and an `expanded`
 * person's rows follow it.
 */
export function flaggedBody(
  texts: string[][],
  order: number[],
  listed: number[],
  people: PeopleRows | undefined,
  expanded: Set<number>,
  onToggle: (i: number) => void,
): HTMLElement {
  const tbody = el('tbody');
  for (const j of order) {
    const tr = tbody.appendChild(el('tr', {}, ...texts[j].map((c) => el('td', { text: c }))));
    const i = listed[j];
    if (people) {
      const open = expanded.has(i);
      tr.prepend(personToggle(open, () => onToggle(i)));
      if (open) {
        tbody.appendChild(personDetail(people, i, texts[j].length + 1));
      }
    }
  }
  return tbody;
}
