// CodeMirror 6 editors: Jinja templates, YAML, JSON and Python; and a side-by-side diff.
import { jinja } from "@codemirror/lang-jinja";
import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";
import { MergeView } from "@codemirror/merge";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import CodeMirror from "@uiw/react-codemirror";
import { useEffect, useRef } from "react";

const LANGUAGES = { jinja, json, python, yaml } as const;

// The editor the user typed in last: a variable picked from a list goes in at its cursor.
let lastFocused: EditorView | null = null;
const rememberFocus = EditorView.domEventHandlers({ focus: (_event, view) => { lastFocused = view; } });

/** Insert `text` at the cursor of the code editor focused last (false when there is none on the page). */
export function insertAtCursor(text: string): boolean {
  const view = lastFocused;
  if (!view || !view.dom.isConnected || view.state.readOnly) return false;
  view.dispatch(view.state.replaceSelection(text));
  view.focus();
  return true;
}
export type Language = keyof typeof LANGUAGES;

interface Props {
  value: string;
  onChange?: (value: string) => void;
  language: Language;
  readOnly?: boolean;
  height?: string;
  label: string;
}

export function CodeEditor({ value, onChange, language, readOnly, height = "200px", label }: Props) {
  return (
    <CodeMirror
      value={value}
      onChange={onChange}
      readOnly={readOnly}
      height={height}
      extensions={[LANGUAGES[language](), EditorView.lineWrapping, EditorView.contentAttributes.of({ "aria-label": label }), rememberFocus]}
      basicSetup={{ foldGutter: false }}
    />
  );
}

/** Two texts side by side with their differences marked (read-only). */
export function SideBySideDiff({ left, right }: { left: string; right: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const readOnly = [EditorState.readOnly.of(true), EditorView.editable.of(false), EditorView.lineWrapping];
    const view = new MergeView({ a: { doc: left, extensions: readOnly }, b: { doc: right, extensions: readOnly }, parent: host.current });
    return () => view.destroy();
  }, [left, right]);
  return <div ref={host} data-testid="side-by-side-diff" style={{ border: "1px solid var(--mantine-color-gray-3)" }} />;
}
