/**
 * `/upload` — a video or an image into the catalogue, straight to storage.
 *
 * Pick or drop a file; the title starts as the file's name. Upload hashes the file in a worker
 * (the page keeps answering), creates the item, sends the bytes to storage with a progress bar
 * and the speed, and finalizes. Cancel (or leaving the page) stops everything and deletes the
 * item. Signed-in only: visitors are sent to log in and brought back.
 */
import { api } from '../../api/endpoints';
import { ApiError, isAbortError } from '../../api/error';
import type { Visibility } from '../../api/types';
import { sleep } from '../../backoff';
import { ACCEPT, ACCEPTED_NAMES, fileType, titleFromFileName, validateDetails, VISIBILITIES } from '../../catalog/media';
import { h, replace, setText } from '../../dom';
import { formatBytes } from '../../format';
import { navigate } from '../../router';
import { currentUser, handleExpiredSession } from '../../session';
import { field, formAlert, FormErrors, selectField, textareaField } from '../../ui/forms';
import { onLeave } from '../../ui/lifecycle';
import { tagInput } from '../../ui/tag-input';
import { workerHasher } from '../../upload/hasher';
import { sendToStorage } from '../../upload/storage';
import { uploadMedia } from '../../upload/uploader';
import { encryptionChoice } from './encryption';
import { progressPanel } from './progress';

export function uploadPage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'Upload — ferrocast';
  const content = h('div', {});
  replace(
    root,
    h(
      'section',
      { class: 'page page-upload' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Upload'), h('p', { class: 'page-sub' }, 'Share a video or an image.')),
      content,
    ),
  );
  void currentUser().then((user) => {
    if (signal.aborted) return;
    if (!user) {
      navigate('/login?next=%2Fupload', { replace: true });
      return;
    }
    replace(content, uploadForm(signal));
  });
}

function uploadForm(signal: AbortSignal): HTMLElement {
  let file: File | null = null;
  /** The chosen file's digest once computed, so trying again does not read it twice. */
  let digest: { file: File; sha256: string } | null = null;
  let titleTouched = false;
  let running: AbortController | null = null;

  // --- the file ---------------------------------------------------------------------------
  const fileInput = h('input', {
    id: 'field-file',
    name: 'file',
    type: 'file',
    accept: ACCEPT,
    class: 'sr-only',
    'aria-describedby': 'hint-file error-file',
    'data-testid': 'file-input',
  });
  const chosen = h('p', { class: 'dropzone-file', 'data-testid': 'chosen-file', hidden: true });
  const fileError = h('p', { id: 'error-file', class: 'field-error', 'data-testid': 'error-file', hidden: true });
  const dropzone = h(
    'div',
    { class: 'dropzone', 'data-testid': 'dropzone' },
    fileInput,
    h('p', { class: 'dropzone-lead' }, 'Drag a video or an image here, or'),
    h('label', { for: 'field-file', class: 'btn' }, 'Choose a file'),
    chosen,
    h('p', { id: 'hint-file', class: 'field-hint' }, `${ACCEPTED_NAMES}.`),
    fileError,
  );

  const showFileError = (message: string | null) => {
    setText(fileError, message ?? '');
    fileError.hidden = !message;
    dropzone.classList.toggle('is-invalid', Boolean(message));
    if (message) fileInput.setAttribute('aria-invalid', 'true');
    else fileInput.removeAttribute('aria-invalid');
  };

  // --- the details ------------------------------------------------------------------------
  const title = field({ name: 'title', label: 'Title', hint: 'Up to 200 characters.' });
  title.input.setAttribute('autocomplete', 'off');
  title.input.addEventListener('input', () => {
    titleTouched = true;
  });
  const description = textareaField({ name: 'description', label: 'Description', hint: 'Optional, up to 5000 characters.', rows: 4 });
  const tags = tagInput({ signal });
  const visibility = selectField(
    { name: 'visibility', label: 'Who can see it' },
    VISIBILITIES.map((v) => ({ value: v.value, label: `${v.label} — ${v.hint}` })),
  );
  const encryption = encryptionChoice(signal);

  const choose = (picked: File | null | undefined) => {
    if (!picked) return;
    const type = fileType(picked);
    if (!type) {
      showFileError(`ferrocast takes ${ACCEPTED_NAMES}; “${picked.name}” is none of them.`);
      return;
    }
    if (picked.size === 0) {
      showFileError(`“${picked.name}” is empty.`);
      return;
    }
    showFileError(null);
    file = picked;
    if (digest?.file !== picked) digest = null;
    setText(chosen, `${picked.name} · ${formatBytes(picked.size)} · ${type.kind === 'video' ? 'Video' : 'Image'}`);
    chosen.hidden = false;
    encryption.setKind(type.kind);
    if (!titleTouched || !title.input.value.trim()) title.input.value = titleFromFileName(picked.name);
    done.hidden = true;
    progress.element.hidden = true;
  };

  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  for (const type of ['dragenter', 'dragover'] as const) {
    dropzone.addEventListener(type, (event) => {
      if (running || !event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      dropzone.classList.add('is-dragging');
    });
  }
  dropzone.addEventListener('dragleave', (event) => {
    if (!dropzone.contains(event.relatedTarget as Node | null)) dropzone.classList.remove('is-dragging');
  });
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropzone.classList.remove('is-dragging');
    if (running) return;
    choose(event.dataTransfer?.files[0]);
  });

  // --- running ----------------------------------------------------------------------------
  const alert = formAlert();
  const errors = new FormErrors({ title, description, tags, visibility }, alert);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'upload-submit' }, 'Upload');
  const cancel = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'upload-cancel', hidden: true }, 'Cancel upload');
  const progress = progressPanel();
  progress.element.hidden = true;
  const result = h('p', { class: 'panel-status', role: 'status', 'data-testid': 'upload-result' });
  const done = h(
    'div',
    { class: 'notice upload-done', 'data-testid': 'upload-done', hidden: true },
    h('p', {}, h('strong', {}, 'Uploaded. '), 'It is in ', h('a', { href: '/media', 'data-testid': 'upload-done-link' }, 'My media'), '.'),
  );
  const fields = h('fieldset', { class: 'form upload-fields' }, h('legend', { class: 'sr-only' }, 'File and details'), dropzone, title.element, description.element, tags.element, visibility.element, encryption.element);
  const form = h(
    'form',
    { class: 'card form upload-form', novalidate: true, 'data-testid': 'upload-form' },
    alert,
    fields,
    h('div', { class: 'actions' }, submit, cancel),
    progress.element,
    result,
    done,
  );

  const hasher = workerHasher();
  const warnBeforeUnload = (event: BeforeUnloadEvent) => {
    event.preventDefault();
  };
  onLeave(signal, () => {
    running?.abort();
    hasher.dispose();
    window.removeEventListener('beforeunload', warnBeforeUnload);
  });

  const setRunning = (controller: AbortController | null) => {
    running = controller;
    fields.disabled = Boolean(controller);
    submit.hidden = Boolean(controller);
    cancel.hidden = !controller;
    cancel.disabled = false;
    progress.element.hidden = !controller;
    if (controller) {
      window.addEventListener('beforeunload', warnBeforeUnload);
      // The progress sits below the form; bring it (and Cancel) into view.
      progress.element.scrollIntoView?.({ block: 'nearest' });
      // Upload was just hidden under the keyboard's focus; Cancel takes its place.
      cancel.focus({ preventScroll: true });
    } else window.removeEventListener('beforeunload', warnBeforeUnload);
  };

  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    running?.abort();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (running) return;
    errors.clear();
    setText(result, '');
    done.hidden = true;
    if (!file) {
      showFileError('Choose a file to upload.');
      fileInput.focus();
      return;
    }
    const type = fileType(file);
    if (!type) return;
    const tagsOk = tags.commit();
    const invalid = validateDetails({ title: title.input.value, description: description.input.value });
    if (Object.keys(invalid).length) {
      errors.showFields(invalid);
      return;
    }
    if (!tagsOk) {
      tags.input.focus();
      return;
    }
    const chosenFile = file;
    // `running` keeps a second submit out; Upload itself is hidden meanwhile.
    void (async () => {
      const controller = new AbortController();
      setRunning(controller);
      try {
        await uploadMedia(
          {
            file: chosenFile,
            kind: type.kind,
            contentType: type.contentType,
            title: title.input.value.trim(),
            description: description.input.value.trim(),
            tags: tags.tags(),
            visibility: visibility.input.value as Visibility,
            sha256: digest?.file === chosenFile ? digest.sha256 : null,
            encrypt: type.kind === 'video' ? encryption.encrypt() : undefined,
          },
          { api, hasher, send: sendToStorage, sleep, now: () => performance.now() },
          {
            onState: (state) => progress.show(state),
            onHashed: (sha256) => {
              digest = { file: chosenFile, sha256 };
            },
          },
          controller.signal,
        );
        setRunning(null);
        progress.element.hidden = false;
        progress.complete(chosenFile.size);
        // The form is ready for the next file; the details of this one are done with.
        file = null;
        digest = null;
        titleTouched = false;
        fileInput.value = '';
        chosen.hidden = true;
        title.input.value = '';
        description.input.value = '';
        tags.set([]);
        done.hidden = false;
        done.querySelector('a')?.focus();
      } catch (error) {
        setRunning(null);
        if (isAbortError(error)) {
          if (!signal.aborted) {
            setText(result, 'Upload cancelled; nothing was kept.');
            submit.focus();
          }
          return;
        }
        if (handleExpiredSession(error)) return;
        showUploadError(error);
      }
    })();
  });

  const showUploadError = (error: unknown) => {
    if (error instanceof ApiError) {
      if (error.code === 'upload_refused') {
        errors.showForm(`The upload was refused and removed: ${error.message}`);
        return;
      }
      if (error.status === 413 || error.status === 415) {
        errors.clear();
        showFileError(error.message);
        fileInput.focus();
        return;
      }
      errors.showApiError(error);
      return;
    }
    errors.showForm(error instanceof Error ? error.message : 'The upload failed. Please try again.');
  };

  return form;
}
