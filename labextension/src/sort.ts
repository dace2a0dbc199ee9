/** Sorting the flagged table: numbers numerically, text by locale, missing last. */
import { Cell } from './compute';

/** Compare two cells for sorting: numbers numerically, missing last, text by locale. */
export function compareCells(a: Cell, b: Cell): number {
  if (a === null || b === null) {
    return a === b ? 0 : a === null ? 1 : -1;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** Row order (indices into `rows`) sorted by column `col`, stable, optionally descending. */
export function sortOrder(rows: Cell[][], col: number, descending: boolean): number[] {
  const order = rows.map((_, i) => i);
  order.sort((i, j) => {
    const c = compareCells(rows[i][col], rows[j][col]);
    const dir = descending && rows[i][col] !== null && rows[j][col] !== null ? -c : c;
    return dir !== 0 ? dir : i - j;
  });
  return order;
}
