/**
 * MIME renderer extension: draws `application/vnd.mia-notebook.report.v1+json`
 * interactively, without a kernel. It is "safe" (DOM built with textContent, no script),
 * so it renders in trusted and untrusted notebooks, and it ranks ahead of the
 * report's static text/html, which stays in the bundle for GitHub, nbconvert and VS Code.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { MIME_TYPE, ReportPayload } from './compute';
import { ReportView } from './view';

const CLASS_NAME = 'mia-lab-renderer';

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
      this.node.textContent = 'mia_notebook: this report was written by an incompatible version.';
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

const extension: IRenderMime.IExtension = {
  id: 'mia-notebook:report-renderer',
  rendererFactory,
  rank: 0,
  dataType: 'json',
  documentWidgetFactoryOptions: [],
};

export default extension;
