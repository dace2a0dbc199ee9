/**
 * The ROC plot's geometry, as mia_notebook/render/curves.py defines it for every view:
 * log-log axes over Python's range (values below an axis's minimum drawn at it), and a
 * curve as steps between its achievable points, whose segments each read one point (the
 * hover). Pure functions, no DOM.
 */
import { Curve, RocRange } from './compute';

/** The ROC axes' range: Python's (the static plot's), else, for a payload written before
 * it carried one, half of one non-member of the largest count as render/curves.py. */
export function rocRange(p: { roc?: RocRange }, nonmembers: number[]): RocRange {
  if (p.roc) {
    return p.roc;
  }
  const n = Math.max(0, ...nonmembers);
  const floor = 0.5 / (n > 0 ? n : 10);
  return { fpr_min: floor, tpr_min: floor, tpr_max: 1.05 };
}

/** Pixel box of a plot: size and margins. */
export interface PlotBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Projection from (fpr, tpr) to pixels on log-log axes over `range` (values below an
 * axis's minimum, e.g. a TPR of 0, are drawn at the minimum, as the static plot). */
export function logLogProjection(
  range: RocRange,
  box: PlotBox,
): (fpr: number, tpr: number) => [number, number] {
  const x0 = Math.log10(range.fpr_min);
  const y0 = Math.log10(range.tpr_min);
  const y1 = Math.log10(range.tpr_max);
  const iw = box.width - box.left - box.right;
  const ih = box.height - box.top - box.bottom;
  return (fpr: number, tpr: number) => {
    const lx = Math.log10(Math.max(fpr, range.fpr_min));
    const ly = Math.log10(Math.min(Math.max(tpr, range.tpr_min), range.tpr_max));
    return [box.left + ((lx - x0) / -x0) * iw, box.top + (1 - (ly - y0) / (y1 - y0)) * ih];
  };
}

/**
 * A curve drawn as steps between its achievable points (render/curves.py): from point i
 * the TPR holds until the next point's FPR, then rises to the next point. `xy` are the
 * projected vertices; segment k (from vertex k to k + 1) reads point `owner[k]`: a flat
 * step the point it starts from, a rise the point it reaches (what a threshold there
 * achieves, and what the tables report).
 */
export interface StepPath {
  xy: [number, number][];
  owner: number[];
}

export function stepPath(
  curve: Curve,
  project: (fpr: number, tpr: number) => [number, number],
): StepPath {
  const xy: [number, number][] = [];
  const owner: number[] = [];
  for (let i = 0; i < curve.fpr.length; i++) {
    if (i > 0) {
      xy.push(project(curve.fpr[i], curve.tpr[i - 1]));
      owner.push(curve.tpr[i] !== curve.tpr[i - 1] ? i : i - 1);
    }
    xy.push(project(curve.fpr[i], curve.tpr[i]));
    owner.push(i);
  }
  return { xy, owner };
}

function segmentDistance2(
  px: number,
  py: number,
  [ax, ay]: [number, number],
  [bx, by]: [number, number],
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0;
  const cx = ax + t * dx - px;
  const cy = ay + t * dy - py;
  return cx * cx + cy * cy;
}

/** The point read by the segment of `path` nearest (x, y), and its squared distance. */
export function nearestOnPath(path: StepPath, x: number, y: number): { index: number; d2: number } {
  const { xy, owner } = path;
  let best = { index: owner[0] ?? 0, d2: Infinity };
  for (let k = 0; k < xy.length; k++) {
    const d2 = segmentDistance2(x, y, xy[k], xy[Math.min(k + 1, xy.length - 1)]);
    if (d2 < best.d2) {
      best = { index: owner[k], d2 };
    }
  }
  return best;
}
