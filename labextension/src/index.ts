/** The front-end plugins of mia_notebook (the MIME renderer lives in mime.ts). */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mia-notebook:plugin',
  description: 'mia_notebook front-end commands.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd) => {
    /* commands are added here */
  },
};

export default plugin;
