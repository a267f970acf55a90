// Uploads go through XMLHttpRequest: fetch cannot report upload progress.
import type { Upload } from "../api/generated/model";
import { getMailboxesBlobsUploadUrl } from "../api/generated/endpoints/mailboxes/mailboxes";
import { ApiError, csrfHeader, errorFromResponse } from "../api/http";

export interface UploadHandle {
  promise: Promise<Upload>;
  abort: () => void;
}

/** POST /mailboxes/{id}/blobs/ with the file; `onProgress` gets 0..1 as bytes leave. */
export function uploadFile(mailboxId: string, file: File, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = (async () => {
    const token = await csrfHeader();
    return new Promise<Upload>((resolve, reject) => {
      xhr.open("POST", new URL(getMailboxesBlobsUploadUrl(mailboxId), window.location.href));
      xhr.withCredentials = true;
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        const headers = new Headers();
        const retryAfter = xhr.getResponseHeader("Retry-After");
        if (retryAfter) headers.set("Retry-After", retryAfter);
        headers.set("Content-Type", xhr.getResponseHeader("Content-Type") ?? "application/json");
        const response = new Response(xhr.responseText || null, { status: xhr.status, headers });
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(response.json() as Promise<Upload>);
        } else {
          void errorFromResponse(response).then(reject);
        }
      };
      xhr.onerror = () => reject(new ApiError(0, ""));
      xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
      const body = new FormData();
      body.append("file", file, file.name);
      xhr.send(body);
    });
  })();
  return { promise, abort: () => xhr.abort() };
}
