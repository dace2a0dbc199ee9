/**
 * MIME renderer extensions: draw `application/vnd.mia-notebook.report.v1+json` (one
 * audit) and `application/vnd.mia-notebook.comparison.v1+json` (several models)
 * interactively, without a kernel. Both are "safe" (DOM built with textContent, no
 * script), so they render in trusted and untrusted notebooks, and they rank ahead of the
 * static text/html, which stays in the bundle for GitHub, nbconvert and VS Code.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { COMPARISON_MIME_TYPE, isComparison } from './comparison';
import { ComparisonView } from './compareView';
import { MIME_TYPE, ReportPayload } from './compute';
import { ReportView } from './view';

const CLASS_NAME = 'mia-lab-renderer';
const INCOMPATIBLE = 'mia_notebook: this report was written by an incompatible version.';

/** A widget that renders one report payload. */
export class ReportRenderer extends Widget implements IRenderMime.IRenderer {
  private view = new ReportView();

  constructor() {
    super();
    this.addClass(CLASS_NAME);
    this.node.appendChild(this.view.node);
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[MIME_TYPE] as unknown as ReportPayload | undefined;
    if (!data || data.version !== 1 || !Array.isArray(data.attacks)) {
      this.node.textContent = INCOMPATIBLE;
      return Promise.resolve();
    }
    this.view.render(data);
    return Promise.resolve();
  }
}

/** A widget that renders one comparison payload (root element: `[data-mia-comparison]`). */
export class ComparisonRenderer extends Widget implements IRenderMime.IRenderer {
  private view = new ComparisonView();

  constructor() {
    super();
    this.addClass(CLASS_NAME);
    this.node.appendChild(this.view.node);
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data: unknown = model.data[COMPARISON_MIME_TYPE];
    if (!isComparison(data)) {
      this.node.textContent = INCOMPATIBLE;
      return Promise.resolve();
    }
    this.view.render(data);
    return Promise.resolve();
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
