/**
 * MIME renderer extensions: draw `application/vnd.mia-notebook.report.v1+json` (one
 * audit) and `application/vnd.mia-notebook.comparison.v1+json` (several models)
 * interactively, without a kernel. Both are "safe" (DOM built with textContent, no
 * script), so they render in trusted and untrusted notebooks, and they rank ahead of the
 * static text/html, which stays in the bundle for GitHub, nbconvert and VS Code.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import {
  COMPARISON_MIME_TYPE,
  ComparisonPayload,
  isComparison,
  readComparison,
} from './comparison';
import { ComparisonView } from './compareView';
import { MIME_TYPE, readReport, ReportPayload, VERSIONS } from './compute';
import { ReportView } from './view';

const CLASS_NAME = 'mia-lab-renderer';
const INCOMPATIBLE = 'mia_notebook: this report was written by an incompatible version.';

/** What a renderer draws into: a view's root element and its one-time render. */
interface View<T> {
  readonly node: HTMLElement;
  render(payload: T): void;
}

/** A widget that renders the payload under `mimeType` with `view`, after `valid` accepts it. */
class PayloadRenderer<T> extends Widget implements IRenderMime.IRenderer {
  constructor(
    private mimeType: string,
    private valid: (data: unknown) => data is T,
    private view: View<T>,
    private read: (data: T) => T,
  ) {
    super();
    this.addClass(CLASS_NAME);
    this.node.appendChild(view.node);
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data: unknown = model.data[this.mimeType];
    if (!this.valid(data)) {
      this.node.textContent = INCOMPATIBLE;
      return Promise.resolve();
    }
    this.view.render(this.read(data));
    return Promise.resolve();
  }
}

function isReport(data: unknown): data is ReportPayload {
  const p = data as ReportPayload | null;
  return !!p && VERSIONS.includes(p.version) && Array.isArray(p.attacks);
}

/** A widget that renders one report payload (root element: `[data-mia-report]`). */
export class ReportRenderer extends PayloadRenderer<ReportPayload> {
  constructor() {
    super(MIME_TYPE, isReport, new ReportView(), readReport);
  }
}

/** A widget that renders one comparison payload (root element: `[data-mia-comparison]`). */
export class ComparisonRenderer extends PayloadRenderer<ComparisonPayload> {
  constructor() {
    super(COMPARISON_MIME_TYPE, isComparison, new ComparisonView(), readComparison);
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: 0,
  createRenderer: () => new ReportRenderer(),
};

export const comparisonRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [COMPARISON_MIME_TYPE],
  defaultRank: 0,
  createRenderer: () => new ComparisonRenderer(),
};

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'mia-notebook:report-renderer',
    rendererFactory,
    rank: 0,
    dataType: 'json',
    documentWidgetFactoryOptions: [],
  },
  {
    id: 'mia-notebook:comparison-renderer',
    rendererFactory: comparisonRendererFactory,
    rank: 0,
    dataType: 'json',
    documentWidgetFactoryOptions: [],
  },
];

export default extensions;
