/**
 * The ROC plot as SVG, drawn as the static PNG is (mia_notebook/render/curves.py):
 * log-log axes over Python's range, the chance diagonal TPR = FPR, the verdict's FPR
 * marker, each curve as steps between its achievable points; hover reads the point of
 * the curve under the pointer. Built with createElementNS and textContent only: no
 * markup strings, no script.
 */
import { Curve, formatG, RocRange, TprAtFpr } from './compute';
import { logLogProjection, nearestOnPath, PlotBox, StepPath, stepPath } from './geometry';

const SVG_NS = 'http://www.w3.org/2000/svg';
const BOX: PlotBox = { width: 460, height: 340, left: 56, right: 14, top: 14, bottom: 40 };
export const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#57606a'];

type Projection = ReturnType<typeof logLogProjection>;

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

function text(attrs: Record<string, string | number>, content: string): SVGTextElement {
  const t = svg('text', attrs);
  t.textContent = content;
  return t;
}

/** Decades from `lo` up to `hi` (inclusive). */
function decades(lo: number, hi: number): number[] {
  const out = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); 10 ** e <= hi * (1 + 1e-9); e++) {
    out.push(10 ** e);
  }
  return out;
}

function axes(root: SVGSVGElement, range: RocRange, project: Projection): void {
  const [x0, y0] = project(range.fpr_min, range.tpr_min);
  const [x1, y1] = project(1, range.tpr_max);
  root.appendChild(
    svg('rect', { x: x0, y: y1, width: x1 - x0, height: y0 - y1, class: 'mia-roc-frame' }),
  );
  for (const v of decades(range.fpr_min, 1)) {
    const [x] = project(v, range.tpr_min);
    root.appendChild(svg('line', { x1: x, x2: x, y1: y1, y2: y0, class: 'mia-roc-grid' }));
    root.appendChild(
      text({ x, y: y0 + 14, 'text-anchor': 'middle', class: 'mia-roc-tick' }, formatG(v, 6)),
    );
  }
  for (const v of decades(range.tpr_min, 1)) {
    const [, y] = project(1, v);
    root.appendChild(svg('line', { x1: x0, x2: x1, y1: y, y2: y, class: 'mia-roc-grid' }));
    root.appendChild(
      text({ x: x0 - 6, y: y + 4, 'text-anchor': 'end', class: 'mia-roc-tick' }, formatG(v, 6)),
    );
  }
  const mid = (y0 + y1) / 2;
  root.append(
    text(
      { x: (x0 + x1) / 2, y: BOX.height - 6, 'text-anchor': 'middle', class: 'mia-roc-label' },
      'False positive rate (log scale)',
    ),
    text(
      {
        x: 12,
        y: mid,
        'text-anchor': 'middle',
        transform: `rotate(-90 12 ${mid})`,
        class: 'mia-roc-label',
      },
      'True positive rate (log scale)',
    ),
  );
}

/** The chance diagonal TPR = FPR (straight on log-log axes) and the verdict's marker. */
function guides(root: SVGSVGElement, input: RocInput, project: Projection): void {
  const lo = Math.max(input.range.fpr_min, input.range.tpr_min);
  const [cx0, cy0] = project(lo, lo);
  const [cx1, cy1] = project(1, 1);
  const chance = svg('line', { x1: cx0, y1: cy0, x2: cx1, y2: cy1, class: 'mia-roc-chance' });
  chance.setAttribute('data-mia-chance', '');
  root.appendChild(chance);
  const [tx, ty0] = project(input.target, input.range.tpr_min);
  const [, ty1] = project(input.target, input.range.tpr_max);
  root.appendChild(svg('line', { x1: tx, x2: tx, y1: ty0, y2: ty1, class: 'mia-roc-target' }));
  if (input.verdictFpr !== null && input.verdictFpr !== undefined) {
    const [vx] = project(input.verdictFpr, input.range.tpr_min);
    const marker = svg('line', { x1: vx, x2: vx, y1: ty0, y2: ty1, class: 'mia-roc-verdict' });
    marker.setAttribute('data-mia-verdict-fpr', String(input.verdictFpr));
    root.appendChild(marker);
    const label = `verdict: ≤ ${formatG(input.verdictFpr * 100, 6)}% FPR`;
    // Beside the line, on the side with more room; haloed (CSS) where it crosses a curve.
    const [xMid] = project(Math.sqrt(input.range.fpr_min), input.range.tpr_min);
    const left = vx > xMid;
    const at = { x: left ? vx - 4 : vx + 4, y: ty1 + 11, 'text-anchor': left ? 'end' : 'start' };
    root.appendChild(text({ ...at, class: 'mia-roc-verdict-label' }, label));
  }
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
  /** The FPR control's target (a dotted line). */
  target: number;
  /** The axes' range: Python's, the static plot's. */
  range: RocRange;
  /** The verdict's own FPR target (a dashed, labelled line); none at level "none". */
  verdictFpr?: number | null;
  /** Accessible name of the plot. */
  label?: string;
}

/** Draw the ROC; `readout` receives the hover text (empty when the pointer leaves). */
export function drawRoc(input: RocInput, readout: (text: string) => void): SVGSVGElement {
  const root = svg('svg', {
    viewBox: `0 0 ${BOX.width} ${BOX.height}`,
    width: BOX.width,
    height: BOX.height,
    class: 'mia-roc-svg',
  });
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', input.label ?? 'ROC curves of the shown attacks (log-log)');
  const project = logLogProjection(input.range, BOX);
  axes(root, input.range, project);
  guides(root, input, project);
  const paths: [Series, Curve, StepPath][] = [];
  for (const a of input.series) {
    if (!a.curve) {
      continue;
    }
    const path = stepPath(a.curve, project);
    paths.push([a, a.curve, path]);
    const color = input.colors.get(a.name) ?? PALETTE[0];
    const points = path.xy.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(' ');
    const line = svg('polyline', { points, fill: 'none', stroke: color, 'stroke-width': 1.6 });
    line.setAttribute('data-series', a.name);
    root.appendChild(line);
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
    const x = ((ev.clientX - box.left) / box.width) * BOX.width;
    const y = ((ev.clientY - box.top) / box.height) * BOX.height;
    const hit = nearest(paths, x, y);
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

/** The curve whose drawn steps pass nearest (x, y), and the point they read there. */
function nearest(
  paths: [Series, Curve, StepPath][],
  x: number,
  y: number,
): [Series, Curve, number] | null {
  let best: [Series, Curve, number] | null = null;
  let bestD = Infinity;
  for (const [a, c, path] of paths) {
    const hit = nearestOnPath(path, x, y);
    if (hit.d2 < bestD) {
      bestD = hit.d2;
      best = [a, c, hit.index];
    }
  }
  return best;
}
