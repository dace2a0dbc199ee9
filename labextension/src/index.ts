/**
 * "Audit a model for membership inference…": command palette entry and notebook toolbar
 * button. It asks the kernel (silently) which fitted estimators and DataFrames exist,
 * opens a dialog, then inserts and runs the matching `%mia_audit` cell, so the notebook
 * stays the record of what was done. (The MIME renderer is in mime.ts; each notebook's
 * registry also gets panel.ts's renderer, which prefers a live audit panel widget.)
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  CommandToolbarButton,
  Dialog,
  ICommandPalette,
  showErrorMessage,
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import {
  AuditOptions,
  buildMagic,
  Candidates,
  DISCOVER_EXPR,
  missingCandidates,
  parseDiscovery,
} from './audit';
import { AuditForm } from './dialog';
import { notebookReportFactory, PANEL_RANK } from './panel';

export const COMMAND = 'mia-notebook:audit';
const LABEL = 'Audit a model for membership inference…';

/** Ask the kernel for candidates through a silent request (nothing stored, no history). */
export async function discover(panel: NotebookPanel): Promise<Candidates> {
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    throw new Error('This notebook has no running kernel. Start one, then try again.');
  }
  const future = kernel.requestExecute({
    code: '',
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false,
    user_expressions: { mia: DISCOVER_EXPR },
  });
  const reply = await future.done;
  const content = reply.content as {
    status: string;
    user_expressions?: Record<
      string,
      { status: string; data?: Record<string, string>; ename?: string; evalue?: string }
    >;
  };
  const answer = content.user_expressions?.mia;
  if (content.status !== 'ok' || !answer || answer.status !== 'ok' || !answer.data) {
    const why = answer?.ename ? `${answer.ename}: ${answer.evalue}` : content.status;
    throw new Error(
      `The kernel could not list models and DataFrames (${why}). Is it a Python kernel?`,
    );
  }
  return parseDiscovery(answer.data['text/plain'] ?? '');
}

/** Insert the `%mia_audit` cell below the active cell and run it. */
async function insertAndRun(panel: NotebookPanel, options: AuditOptions): Promise<void> {
  const notebook = panel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return;
  }
  cell.model.sharedModel.setSource(buildMagic(options));
  await NotebookActions.run(notebook, panel.sessionContext);
}

async function audit(panel: NotebookPanel): Promise<void> {
  let candidates: Candidates;
  try {
    candidates = await discover(panel);
  } catch (e) {
    await showErrorMessage('Audit a model', String(e instanceof Error ? e.message : e));
    return;
  }
  const missing = missingCandidates(candidates);
  if (missing) {
    await showErrorMessage('Audit a model', missing);
    return;
  }
  const dialog = new Dialog({
    title: LABEL,
    body: new AuditForm(candidates),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Audit' })],
    focusNodeSelector: 'select',
  });
  dialog.addClass('mia-audit-dialog'); // taller than JupyterLab's 500px default
  const result = await dialog.launch();
  if (result.button.accept && result.value) {
    await insertAndRun(panel, result.value);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mia-notebook:audit-command',
  description: 'Audit a model for membership inference from the notebook toolbar or palette.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, palette: ICommandPalette | null) => {
    app.commands.addCommand(COMMAND, {
      label: LABEL,
      caption: 'Pick a fitted model and its train/test DataFrames, then run %mia_audit',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (panel) {
          await audit(panel);
        }
      },
    });
    palette?.addItem({ command: COMMAND, category: 'Notebook Operations' });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new CommandToolbarButton({
          commands: app.commands,
          id: COMMAND,
          label: 'Audit…',
        });
        button.addClass('mia-audit-button');
        panel.toolbar.insertItem(10, 'mia-audit', button);
        // Reports in this notebook: the audit panel's live widget when its model exists,
        // else the interactive report (panel.ts).
        const rendermime = panel.content.rendermime;
        rendermime.addFactory(notebookReportFactory(rendermime), PANEL_RANK);
        return button;
      },
    });
  },
};

export default plugin;
