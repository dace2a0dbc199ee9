/**
 * The "Audit a model…" command's logic without the UI: what to ask the kernel, how to
 * read its answer, and the `%mia_audit` line to write.
 */

/** Fitted estimators and DataFrames of the user namespace. */
export interface Candidates {
  models: string[];
  frames: Record<string, { columns: string[]; rows: number; n_columns?: number }>;
}

/** The options the dialog collects. */
export interface AuditOptions {
  model: string;
  train: string;
  test: string;
  target: string;
  attacks: string;
  fpr: string;
  flag: number;
  redact: string[];
  slice: string;
  /** Column naming whose data a row is ('' : rows are the unit); `--person`. */
  person?: string;
}

export const DEFAULTS = { attacks: 'auto', fpr: '0.001,0.01,0.1', flag: 10 };

/**
 * A Python expression (evaluated as a silent request's `user_expressions`, so it binds
 * no name, adds no history and leaves `_` untouched) listing fitted scikit-learn
 * estimators and pandas DataFrames. It imports nothing that is not already imported
 * (only what a fitted estimator or a DataFrame in the namespace implies), and returns
 * hex-encoded JSON, so the text/plain repr is a plain quoted string.
 */
export const DISCOVER_EXPR = `(lambda ns, sys, json: json.dumps({
 "models": sorted(k for k, v in list(ns.items()) if not k.startswith("_")
   and "sklearn.base" in sys.modules and not isinstance(v, type)
   and isinstance(v, sys.modules["sklearn.base"].BaseEstimator)
   and (v.__sklearn_is_fitted__() if hasattr(v, "__sklearn_is_fitted__")
        else any(a.endswith("_") and not a.startswith("__") for a in vars(v)))),
 "frames": {k: {"columns": [str(c) for c in list(v.columns)[:500]], "rows": int(len(v)),
   "n_columns": int(v.shape[1])}
   for k, v in list(ns.items()) if not k.startswith("_") and "pandas" in sys.modules
   and isinstance(v, sys.modules["pandas"].DataFrame)},
}).encode("utf-8").hex())(get_ipython().user_ns, __import__("sys"), __import__("json"))`;

/** Read the expression's text/plain result: `'7b22…'` (Python repr of the hex string). */
export function parseDiscovery(textPlain: string): Candidates {
  const hex = textPlain.trim().replace(/^'|'$/g, '');
  if (!/^([0-9a-f]{2})*$/.test(hex)) {
    throw new Error('unexpected answer from the kernel');
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  const data = JSON.parse(new TextDecoder('utf-8').decode(bytes)) as Candidates;
  return { models: data.models ?? [], frames: data.frames ?? {} };
}

/** Quote a magic argument when IPython's arg_split would otherwise split it. */
export function quoteArg(value: string): string {
  if (/^[A-Za-z0-9_.,:@%+=-]+$/.test(value)) {
    return value;
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The `%mia_audit` line for `o` (options at their defaults are left out). */
export function buildMagic(o: AuditOptions): string {
  const parts = [
    '%mia_audit',
    o.model,
    '--train',
    o.train,
    '--test',
    o.test,
    '--target',
    quoteArg(o.target),
  ];
  if (o.attacks && o.attacks !== DEFAULTS.attacks) {
    parts.push('--attacks', quoteArg(o.attacks));
  }
  const fpr = o.fpr.replace(/\s+/g, '');
  if (fpr && fpr !== DEFAULTS.fpr) {
    parts.push('--fpr', quoteArg(fpr));
  }
  if (o.flag !== DEFAULTS.flag) {
    parts.push('--flag', String(o.flag));
  }
  if (o.slice) {
    parts.push('--slice', quoteArg(o.slice));
  }
  if (o.redact.length) {
    parts.push('--redact', quoteArg(o.redact.join(',')));
  }
  if (o.person) {
    parts.push('--person', quoteArg(o.person));
  }
  return parts.join(' ');
}

/** Columns present in both frames, in train's order. */
export function sharedColumns(c: Candidates, train: string, test: string): string[] {
  const a = c.frames[train]?.columns ?? [];
  const b = new Set(c.frames[test]?.columns ?? []);
  return a.filter((col) => b.has(col));
}

/** First name matching `pattern`, else the `fallback`-th name, else ''. */
export function guess(names: string[], pattern: RegExp, fallback = 0): string {
  return names.find((n) => pattern.test(n)) ?? names[Math.min(fallback, names.length - 1)] ?? '';
}

/** A likely label column: a conventional name, else the last shared column. */
export function guessTarget(columns: string[]): string {
  return guess(columns, /^(label|target|y|class|outcome)$/i, columns.length - 1);
}

/**
 * Why the dialog cannot open, and how to fix it ('' when it can): a fitted scikit-learn
 * model and two pandas DataFrames (members and non-members, the label as a column).
 */
export function missingCandidates(c: Candidates): string {
  const frames = Object.keys(c.frames);
  const found = `Found models: [${c.models.join(', ')}]; DataFrames: [${frames.join(', ')}].`;
  if (!c.models.length) {
    return (
      'The kernel has no fitted scikit-learn model. Fit one first (e.g. ' +
      `clf = LogisticRegression().fit(X_train, y_train)), then try again. ${found}`
    );
  }
  if (frames.length < 2) {
    return (
      'The audit reads two pandas DataFrames: the training records (members) and held-out ' +
      'records (non-members), each with the label as a column. Wrap arrays with ' +
      'pd.DataFrame, e.g. train_df = pd.DataFrame(X_train, columns=feature_names)' +
      '.assign(label=y_train), and the same for the held-out rows; then try again. ' +
      found
    );
  }
  return '';
}

/** "train_df (3,183 rows × 9 columns)": tells `df` from `train_df` at a glance. */
export function frameLabel(
  name: string,
  frame?: { columns: string[]; rows: number; n_columns?: number },
): string {
  if (!frame) {
    return name;
  }
  const cols = frame.n_columns ?? frame.columns.length;
  const plural = (n: number, what: string): string =>
    `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
  return `${name} (${plural(frame.rows, 'row')} × ${plural(cols, 'column')})`;
}
