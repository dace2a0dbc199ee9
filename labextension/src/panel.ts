/**
 * Reports in notebooks, including the audit panel's output (mia_notebook/panel): its
 * bundle holds the live widget view beside the report JSON. The interactive report (drawn
 * from the JSON, no kernel) shows at once; the live widget replaces it only once the
 * kernel's widget model actually draws a view. A notebook reopened without its kernel
 * therefore shows the interactive report, never "Error displaying widget: model not
 * found". Untrusted outputs never get the widget (its renderer is not safe).
 *
 * Inside the live widget, the panel's report area is an ipywidgets Output holding the
 * report's bundle without a widget view; the widget manager renders it with this same
 * notebook registry, so it gets this renderer too: the instant controls (FPR target,
 * attacks shown, sorting, ROC hover) run client-side, and the stylesheet hides the
 * kernel's duplicate FPR slider (style/index.css).
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel } from '@lumino/widgets';

import { MIME_TYPE } from './compute';
import { ReportRenderer } from './mime';

type Registry = NotebookPanel['content']['rendermime'];

/** The ipywidgets view MIME type (rank -10 in a notebook's registry). */
export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
/** Ahead of the widget renderer, so the report is the fallback the widget never gives. */
export const PANEL_RANK = -20;

export class NotebookReportRenderer extends Panel implements IRenderMime.IRenderer {
  private report = new ReportRenderer();
  private live: IRenderMime.IRenderer | null = null;
  private liveModelId: string | null = null;
  private observer: MutationObserver | null = null;

  constructor(private registry: Registry) {
    super();
    this.addClass('mia-lab-notebook-report');
    this.addWidget(this.report);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    await this.report.renderModel(model);
    const view = model.data[WIDGET_MIME] as { model_id?: string } | undefined;
    if (!model.trusted || !view?.model_id || !this.registry.getFactory(WIDGET_MIME)) {
      return;
    }
    if (this.live && this.liveModelId === view.model_id) {
      return; // the live widget updates itself through its model: no new view, focus stays
    }
    this.dropLive();
    const live = this.registry.createRenderer(WIDGET_MIME);
    live.hide();
    this.addWidget(live);
    this.live = live;
    this.liveModelId = view.model_id;
    // The widget renderer writes text only ("Loading widget…", "model not found") until
    // a view exists; a view is an element child.
    const swap = (): void => {
      if (live.node.firstElementChild && !live.isDisposed) {
        this.report.hide();
        live.show();
        this.observer?.disconnect();
      }
    };
    this.observer = new MutationObserver(swap);
    this.observer.observe(live.node, { childList: true });
    await live.renderModel(model);
    swap();
  }

  private dropLive(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.live?.dispose();
    this.live = null;
    this.report.show();
  }

  dispose(): void {
    this.observer?.disconnect();
    super.dispose();
  }
}

/** The factory a notebook's own registry gets (see index.ts). */
export function notebookReportFactory(registry: Registry): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [MIME_TYPE],
    defaultRank: PANEL_RANK,
    createRenderer: () => new NotebookReportRenderer(registry),
  };
}
