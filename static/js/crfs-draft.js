// CRF draft preservation (registry/core/sessions.py). When a form is submitted its input is kept in this tab's
// sessionStorage. If the session had expired, the server sends the user to sign in and back here with
// ?restore_draft=1: the input is put back (hidden version fields too, so a change made by someone else in the
// meantime still shows the conflict page) and then removed from the browser. On any other load the kept copy
// is dropped, so patient data stays in the browser only for the sign-in round trip.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.crf-form, form[data-draft]");
  if (!form) return;
  const key = `crf-draft:${window.location.pathname}`;
  const params = new URLSearchParams(window.location.search);
  const skip = (el) => !el.name || el.name === "csrfmiddlewaretoken" || ["submit", "button", "file"].includes(el.type);

  form.addEventListener("submit", () => {
    const values = {};
    for (const el of form.elements) {
      if (skip(el)) continue;
      let value;
      if (el.type === "checkbox" || el.type === "radio") value = el.checked ? el.value : null;
      else if (el.tagName === "SELECT" && el.multiple) value = Array.from(el.selectedOptions, (o) => o.value);
      else value = el.value;
      (values[el.name] = values[el.name] || []).push(value);
    }
    try {
      window.sessionStorage.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), values }));
    } catch (err) { /* storage full or disabled: the server-side redirect still works, the input is not kept */ }
  });

  const kept = window.sessionStorage.getItem(key);
  window.sessionStorage.removeItem(key);
  if (!params.has("restore_draft")) return;
  params.delete("restore_draft");
  const query = params.toString();
  window.history.replaceState(null, "", window.location.pathname + (query ? `?${query}` : ""));
  if (!kept) return;
  const { savedAt, values } = JSON.parse(kept);
  const seen = {};
  for (const el of form.elements) {
    if (skip(el) || !(el.name in values)) continue;
    const index = seen[el.name] = (seen[el.name] ?? -1) + 1;
    const value = values[el.name][index];
    if (value === undefined) continue;
    if (el.type === "checkbox" || el.type === "radio") el.checked = value !== null && value === el.value;
    else if (el.tagName === "SELECT" && el.multiple) {
      for (const option of el.options) option.selected = value.includes(option.value);
    } else el.value = value;
  }
  const note = document.createElement("div");
  note.className = "alert alert-warning py-2";
  note.id = "draft-restored";
  note.setAttribute("role", "status");
  note.textContent = `Your session had expired, so nothing was saved. The input you entered `
    + `(${new Date(savedAt).toLocaleTimeString()}) has been put back: check it and save again.`;
  form.prepend(note);
});
