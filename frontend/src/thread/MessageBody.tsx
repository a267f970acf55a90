import { useCallback, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import type { Message } from "../api/generated/model";
import { buildFrameDocument } from "./htmlFrame";

// Scripts never run in the frame (no allow-scripts). allow-same-origin only lets this
// page measure the frame's height; links may open in a new tab.
export const FRAME_SANDBOX = "allow-same-origin allow-popups allow-popups-to-escape-sandbox";

export function MessageBody({ message }: { message: Message }) {
  const { t } = useTranslation();
  const [showImages, setShowImages] = useState(false);
  if (!message.html_body) {
    return <div className="text-body">{message.text_body}</div>;
  }
  return (
    <>
      {message.has_remote_content && !showImages && (
        <div className="remote-content-notice" role="note">
          <span>{t("thread.remoteImagesBlocked")}</span>
          <button type="button" onClick={() => setShowImages(true)}>
            {t("thread.showImages")}
          </button>
        </div>
      )}
      <HtmlFrame message={message} showRemoteImages={showImages} />
    </>
  );
}

function HtmlFrame({ message, showRemoteImages }: { message: Message; showRemoteImages: boolean }) {
  const { t } = useTranslation();
  const frame = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState(120);
  const srcDoc = useMemo(
    () =>
      buildFrameDocument(message.html_body, {
        showRemoteImages,
        attachments: message.attachments,
        origin: window.location.origin,
      }),
    [message.html_body, message.attachments, showRemoteImages],
  );
  const fit = useCallback(() => {
    const doc = frame.current?.contentDocument;
    if (doc?.documentElement) setHeight(Math.max(40, doc.documentElement.scrollHeight + 4));
  }, []);
  return (
    <iframe
      ref={frame}
      className="html-body"
      title={t("thread.bodyTitle", { subject: message.subject || t("thread.noSubject") })}
      sandbox={FRAME_SANDBOX}
      referrerPolicy="no-referrer"
      srcDoc={srcDoc}
      style={{ height }}
      onLoad={fit}
    />
  );
}
