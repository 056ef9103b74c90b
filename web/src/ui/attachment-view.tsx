import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Attachment } from '../api/types';
import { useChat } from './context';
import { fileSize } from './format';
import { FileIcon } from './icons';

/** Text files up to this size can be previewed in the page, in bytes; at most PREVIEW_CHARS are shown. */
const PREVIEW_MAX_BYTES = 256 * 1024;
const PREVIEW_CHARS = 20_000;

const previewable = (a: Attachment) =>
  (a.mimeType.startsWith('text/') || a.mimeType === 'application/json') && a.fileSize <= PREVIEW_MAX_BYTES;

/**
 * An attachment: images as a thumbnail linking to the original, other files as a download link;
 * small text files (an agent's report) can also be previewed, as text.
 */
export function AttachmentView({ a }: { a: Attachment }) {
  const { actions } = useChat();
  const [thumb, setThumb] = useState<string>();
  const [original, setOriginal] = useState<string>();
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let live = true;
    const fail = () => live && setFailed(true);
    if (a.type === 'image') {
      actions
        .attachmentUrl(a, a.thumbnailUrl ? 'thumbnail' : 'original')
        .then((u) => live && setThumb(u))
        .catch(fail);
    }
    actions
      .attachmentUrl(a, 'original')
      .then((u) => live && setOriginal(u))
      .catch(fail);
    return () => {
      live = false;
    };
  }, [a, actions]);

  if (a.type === 'image') {
    return (
      <a
        class="file file--image"
        href={original}
        target="_blank"
        rel="noopener noreferrer"
        data-testid="attachment-image"
        aria-label={`${a.fileName} (open full size)`}
      >
        {thumb ? (
          <img src={thumb} alt={a.fileName} loading="lazy" onError={() => setFailed(true)} />
        ) : (
          <span class="file__placeholder">{failed ? `Cannot show ${a.fileName}` : a.fileName}</span>
        )}
      </a>
    );
  }
  const link = (
    <a class="file" href={original} download={a.fileName} data-testid="attachment-file">
      <FileIcon /> {a.fileName} <span class="muted">({fileSize(a.fileSize)})</span>
    </a>
  );
  return previewable(a) ? <TextPreview a={a} url={original} link={link} /> : link;
}

/** A download link with a "Preview" toggle that shows the file's text (as text, never as HTML). */
function TextPreview({ a, url, link }: { a: Attachment; url: string | undefined; link: JSX.Element }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState<string>();
  const [error, setError] = useState(false);
  const id = `preview-${a.id}`;

  useEffect(() => {
    if (!open || text !== undefined || !url) return;
    let live = true;
    fetch(url)
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((t) => live && setText(t.length > PREVIEW_CHARS ? `${t.slice(0, PREVIEW_CHARS)}\n…` : t))
      .catch(() => live && setError(true));
    return () => {
      live = false;
    };
  }, [open, text, url]);

  return (
    <div class="file-preview">
      <span class="file-preview__row">
        {link}
        <button
          type="button"
          class="btn btn--tiny"
          aria-expanded={open}
          aria-controls={id}
          disabled={!url}
          onClick={() => setOpen(!open)}
        >
          {open ? 'Hide preview' : 'Preview'}
        </button>
      </span>
      {open && (
        <pre class="file-preview__text" id={id} data-testid="attachment-preview">
          {error ? 'Cannot show this file.' : (text ?? 'Loading…')}
        </pre>
      )}
    </div>
  );
}
