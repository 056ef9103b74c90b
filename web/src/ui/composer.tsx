import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { UploadedAttachment } from '../../../src/client/index.js';
import type { Message } from '../api/types';
import { errorText } from '../state/chat-actions';
import { useChat } from './context';
import { snippet } from './format';
import { FileIcon, PaperclipIcon } from './icons';

export type ComposerMode = { kind: 'reply' | 'edit'; message: Message } | undefined;

interface Staged {
  key: number;
  file: File;
  preview: string | undefined;
  state: 'uploading' | 'ready' | 'failed';
  attachment?: UploadedAttachment;
  error?: string;
}

let nextKey = 1;

export interface ComposerProps {
  roomId: string;
  mode: ComposerMode;
  setMode: (m: ComposerMode) => void;
  /** Your newest editable message: Arrow Up in an empty composer edits it. */
  lastMine: Message | undefined;
}

/**
 * Writing a message: Enter sends, Shift+Enter starts a new line, Esc cancels a reply or an edit.
 * Files (picked or pasted) upload at once through the SDK and go out with the next message.
 */
export function Composer({ roomId, mode, setMode, lastMine }: ComposerProps) {
  const { store, actions } = useChat();
  const [text, setText] = useState('');
  const [files, setFiles] = useState<Staged[]>([]);
  const input = useRef<HTMLTextAreaElement>(null);
  const editing = mode?.kind === 'edit';

  // Entering edit mode loads the message; leaving it (cancel, or Reply instead) clears the box.
  // A layout effect, so the box is never seen labelled "Edit message" while still empty.
  const wasEditing = useRef(false);
  useLayoutEffect(() => {
    if (mode?.kind === 'edit') setText(mode.message.content);
    else if (wasEditing.current) setText('');
    wasEditing.current = mode?.kind === 'edit';
    input.current?.focus();
  }, [mode]);

  // Local previews (blob: URLs) are released when their file leaves the composer.
  const staged = useRef(files);
  staged.current = files;
  const release = (fs: Staged[]) => {
    for (const f of fs) if (f.preview) URL.revokeObjectURL(f.preview);
  };
  useEffect(() => () => release(staged.current), []);

  const update = (key: number, patch: Partial<Staged>) =>
    setFiles((all) => all.map((f) => (f.key === key ? { ...f, ...patch } : f)));

  const stage = (picked: File[]) => {
    for (const file of picked) {
      const key = nextKey++;
      const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : undefined;
      setFiles((all) => [...all, { key, file, preview, state: 'uploading' }]);
      actions
        .upload(roomId, file)
        .then((attachment) => update(key, { state: 'ready', attachment }))
        .catch((err) => update(key, { state: 'failed', error: errorText(err) }));
    }
  };

  const cancel = () => {
    if (editing) setText('');
    setMode(undefined);
  };

  const submit = () => {
    const content = text.trim();
    if (mode?.kind === 'edit') {
      if (content && content !== mode.message.content) void actions.edit(mode.message, content);
      setText('');
      setMode(undefined);
      return;
    }
    if (files.some((f) => f.state === 'uploading')) {
      store.notify('Wait until the files have uploaded.');
      return;
    }
    const ready = files.filter((f) => f.state === 'ready').map((f) => f.attachment!);
    if (!content && ready.length === 0) return;
    actions.send(roomId, content, {
      ...(mode?.kind === 'reply' ? { replyTo: mode.message.messageId } : {}),
      attachments: ready,
    });
    setText('');
    release(files);
    setFiles([]);
    setMode(undefined);
    input.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && (mode || text)) {
      e.preventDefault();
      cancel();
    } else if (e.key === 'ArrowUp' && text === '' && !mode && lastMine) {
      e.preventDefault();
      setMode({ kind: 'edit', message: lastMine });
    }
  };

  return (
    <form
      class="composer"
      aria-label="Send a message"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {mode && (
        <div class="composer__mode" data-testid="composer-mode">
          <span>
            {mode.kind === 'edit' ? 'Editing your message' : `Replying to ${mode.message.authorName}: `}
            {mode.kind === 'reply' && <em>{snippet(mode.message.content, 60)}</em>}
          </span>
          <button type="button" class="btn btn--tiny" onClick={cancel} aria-label="Cancel (Esc)">
            Cancel
          </button>
        </div>
      )}
      {files.length > 0 && (
        <ul class="staged" aria-label="Files to send">
          {files.map((f) => (
            <li key={f.key} class={`staged__file staged__file--${f.state}`} data-testid="staged-file">
              {f.preview ? <img src={f.preview} alt="" /> : <FileIcon />}
              <span class="staged__name">
                {f.file.name}
                {f.state === 'uploading' && ' (uploading…)'}
                {f.state === 'failed' && ` (failed: ${f.error})`}
              </span>
              <button
                type="button"
                class="btn btn--icon"
                aria-label={`Remove ${f.file.name}`}
                onClick={() => {
                  release([f]);
                  setFiles((all) => all.filter((x) => x.key !== f.key));
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="composer__row">
        {!editing && (
          <label class="btn btn--icon composer__attach" title="Attach files">
            <input
              type="file"
              multiple
              class="visually-hidden"
              aria-label="Attach files"
              data-testid="file-input"
              onChange={(e) => {
                stage([...(e.currentTarget.files ?? [])]);
                e.currentTarget.value = '';
              }}
            />
            <PaperclipIcon />
          </label>
        )}
        <textarea
          ref={input}
          class="composer__input"
          aria-label={editing ? 'Edit message' : 'Message'}
          placeholder={editing ? 'Edit your message' : 'Write a message'}
          rows={Math.min(6, Math.max(1, text.split('\n').length))}
          value={text}
          maxLength={10_000}
          onInput={(e) => {
            setText(e.currentTarget.value);
            if (!editing) actions.typing(roomId, e.currentTarget.value.trim().length > 0);
          }}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const pasted = [...(e.clipboardData?.files ?? [])];
            if (pasted.length > 0 && !editing) {
              e.preventDefault();
              stage(pasted);
            }
          }}
        />
        <button type="submit" class="btn btn--primary">
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
