/**
 * The ROC plot as SVG (log-scaled FPR axis), with hover read-outs.
 * Built with createElementNS and textContent only: no markup strings, no script.
 */
import { Curve, formatG, nearestPoint, TprAtFpr } from './compute';

const SVG_NS = 'http://www.w3.org/2000/svg';
const W = 460;
const H = 340;
const PAD = { left: 52, right: 14, top: 12, bottom: 40 };
export const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#57606a'];

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  return el;
}

/** Projection from (fpr, tpr) to pixels; FPR on a log axis from `floor` to 1. */
export function makeProjection(floor: number): (fpr: number, tpr: number) => [number, number] {
  const lo = Math.log10(floor);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  return (fpr: number, tpr: number) => {
    const lx = Math.log10(Math.max(fpr, floor));
    return [PAD.left + ((lx - lo) / -lo) * iw, PAD.top + (1 - tpr) * ih];
  };
}

function axes(root: SVGSVGElement, floor: number, project: ReturnType<typeof makeProjection>) {
  const [x0, y0] = project(floor, 0);
  const [x1, y1] = project(1, 1);
  root.appendChild(
    svg('rect', { x: x0, y: y1, width: x1 - x0, height: y0 - y1, class: 'mia-roc-frame' }),
  );
  for (let e = Math.ceil(Math.log10(floor)); e <= 0; e++) {
    const [x] = project(10 ** e, 0);
    root.appendChild(svg('line', { x1: x, x2: x, y1: y1, y2: y0, class: 'mia-roc-grid' }));
    const label = svg('text', { x, y: y0 + 14, 'text-anchor': 'middle', class: 'mia-roc-tick' });
    label.textContent = formatG(10 ** e, 3);
    root.appendChild(label);
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const [, y] = project(1, t);
    const label = svg('text', { x: x0 - 6, y: y + 4, 'text-anchor': 'end', class: 'mia-roc-tick' });
    label.textContent = String(t);
    root.appendChild(label);
  }
  const xl = svg('text', {
    x: (x0 + x1) / 2,
    y: H - 6,
    'text-anchor': 'middle',
    class: 'mia-roc-label',
  });
  xl.textContent = 'False positive rate (log scale)';
  const yl = svg('text', {
    x: 12,
    y: (y0 + y1) / 2,
    'text-anchor': 'middle',
    transform: `rotate(-90 12 ${(y0 + y1) / 2})`,
    class: 'mia-roc-label',
  });
  yl.textContent = 'True positive rate';
  root.append(xl, yl);
}

/** One curve of the plot: an attack, a group of attacks, or a model's row attack. */
export interface Series {
  /** Shown in the hover read-out; keys `colors` and `chosen`. */
  name: string;
  curve: Curve | null;
}

export interface RocInput {
  series: Series[];
  colors: Map<string, string>;
  chosen: Map<string, TprAtFpr>;
  target: number;
  floor: number;
  /** Accessible name of the plot. */
  label?: string;
}

/** Draw the ROC; `readout` receives the hover text (empty when the pointer leaves). */
export function drawRoc(input: RocInput, readout: (text: string) => void): SVGSVGElement {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'mia-roc-svg' });
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', input.label ?? 'ROC curves of the shown attacks');
  const project = makeProjection(input.floor);
  axes(root, input.floor, project);
  const [tx, ty0] = project(input.target, 0);
  const [, ty1] = project(input.target, 1);
  root.appendChild(svg('line', { x1: tx, x2: tx, y1: ty0, y2: ty1, class: 'mia-roc-target' }));
  const curves: [Series, Curve][] = [];
  for (const a of input.series) {
    if (!a.curve) {
      continue;
    }
    curves.push([a, a.curve]);
    const color = input.colors.get(a.name) ?? PALETTE[0];
    const pts = a.curve.fpr.map((f, i) => project(f, a.curve!.tpr[i]).join(',')).join(' ');
    root.appendChild(
      svg('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 1.6 }),
    );
    const t = input.chosen.get(a.name);
    if (t) {
      const [cx, cy] = project(t.achievedFpr, t.tpr);
      root.appendChild(svg('circle', { cx, cy, r: 3.5, fill: color }));
    }
  }
  const marker = svg('circle', { cx: -10, cy: -10, r: 5, class: 'mia-roc-hover' });
  root.appendChild(marker);
  root.addEventListener('mousemove', (ev) => {
    const box = root.getBoundingClientRect();
    const x = ((ev.clientX - box.left) / box.width) * W;
    const y = ((ev.clientY - box.top) / box.height) * H;
    const hit = nearest(curves, x, y, project);
    if (!hit) {
      return;
    }
    const [a, c, i] = hit;
    const [mx, my] = project(c.fpr[i], c.tpr[i]);
    marker.setAttribute('cx', String(mx));
    marker.setAttribute('cy', String(my));
    const thr = c.thresholds[i];
    readout(
      `${a.name}: FPR ${formatG(c.fpr[i], 4)}, TPR ${c.tpr[i].toFixed(4)}, ` +
        `threshold ${thr === null ? '+∞' : formatG(thr, 4)}`,
    );
  });
  root.addEventListener('mouseleave', () => readout(''));
  return root;
}

function nearest(
  curves: [Series, Curve][],
  x: number,
  y: number,
  project: ReturnType<typeof makeProjection>,
): [Series, Curve, number] | null {
  let best: [Series, Curve, number] | null = null;
  let bestD = Infinity;
  for (const [a, c] of curves) {
    const i = nearestPoint(c, x, y, project);
    const [px, py] = project(c.fpr[i], c.tpr[i]);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = [a, c, i];
    }
  }
  return best;
}
