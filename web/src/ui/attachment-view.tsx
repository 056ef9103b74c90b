import { useEffect, useState } from 'preact/hooks';
import type { Attachment } from '../api/types';
import { useChat } from './context';
import { fileSize } from './format';
import { FileIcon } from './icons';

/** An attachment: images as a thumbnail linking to the original, other files as a download link. */
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
  return (
    <a class="file" href={original} download={a.fileName} data-testid="attachment-file">
      <FileIcon /> {a.fileName} <span class="muted">({fileSize(a.fileSize)})</span>
    </a>
  );
}
