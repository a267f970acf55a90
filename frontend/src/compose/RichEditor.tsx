// The message body: TipTap (ProseMirror) with a small toolbar. It gives HTML for the
// html_body and, through docToText, the plain-text alternative.
import { EditorContent, useEditor, useEditorState, type Editor } from "@tiptap/react";
import StarterKit from "@tiptap/starter-kit";
import { useTranslation } from "react-i18next";

import { docToText, type DocNode } from "./model";

export interface BodyValue {
  html: string;
  text: string;
}

function valueOf(editor: Editor): BodyValue {
  return { html: editor.getHTML(), text: docToText(editor.getJSON() as DocNode) };
}

export function RichEditor({
  initialHtml,
  label,
  onChange,
  onReady,
  autoFocus,
}: {
  initialHtml: string;
  label: string;
  onChange: (value: BodyValue) => void;
  /** The starting value (a quote's text alternative) without it counting as a change. */
  onReady: (value: BodyValue) => void;
  autoFocus: boolean;
}) {
  const editor = useEditor({
    extensions: [StarterKit.configure({ link: { openOnClick: false, autolink: true } })],
    content: initialHtml,
    autofocus: autoFocus ? "start" : false,
    editorProps: {
      attributes: {
        class: "editor-body",
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": label,
      },
    },
    onCreate: ({ editor: created }) => onReady(valueOf(created)),
    onUpdate: ({ editor: updated }) => onChange(valueOf(updated)),
  });
  return (
    <div className="editor">
      {editor && <Toolbar editor={editor} />}
      <EditorContent editor={editor} />
    </div>
  );
}

const MARKS = [
  { name: "bold", key: "compose.format.bold", run: (e: Editor) => e.chain().focus().toggleBold().run() },
  { name: "italic", key: "compose.format.italic", run: (e: Editor) => e.chain().focus().toggleItalic().run() },
  {
    name: "underline",
    key: "compose.format.underline",
    run: (e: Editor) => e.chain().focus().toggleUnderline().run(),
  },
  {
    name: "bulletList",
    key: "compose.format.bulletList",
    run: (e: Editor) => e.chain().focus().toggleBulletList().run(),
  },
  {
    name: "orderedList",
    key: "compose.format.orderedList",
    run: (e: Editor) => e.chain().focus().toggleOrderedList().run(),
  },
  {
    name: "blockquote",
    key: "compose.format.blockquote",
    run: (e: Editor) => e.chain().focus().toggleBlockquote().run(),
  },
] as const;

const LETTERS: Record<(typeof MARKS)[number]["name"], string> = {
  bold: "B",
  italic: "I",
  underline: "U",
  bulletList: "•",
  orderedList: "1.",
  blockquote: "❝",
};

function Toolbar({ editor }: { editor: Editor }) {
  const { t } = useTranslation();
  const active = useEditorState({
    editor,
    selector: ({ editor: current }) => Object.fromEntries(MARKS.map((mark) => [mark.name, current.isActive(mark.name)])),
  });
  return (
    <div className="editor-toolbar" role="toolbar" aria-label={t("compose.format.toolbar")}>
      {MARKS.map((mark) => (
        <button
          key={mark.name}
          type="button"
          className={`format-${mark.name}`}
          aria-pressed={Boolean(active[mark.name])}
          aria-label={t(mark.key)}
          title={t(mark.key)}
          onClick={() => mark.run(editor)}
        >
          <span aria-hidden="true">{LETTERS[mark.name]}</span>
        </button>
      ))}
    </div>
  );
}
