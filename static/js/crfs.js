// CRF forms: choosing "why missing" clears the value it replaces (a value and a reason are exclusive).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[name$='_missing_reason']").forEach((select) => {
    select.addEventListener("change", () => {
      if (!select.value) return;
      const base = select.name.replace(/_missing_reason$/, "");
      const input = select.form && select.form.querySelector(`[name='${base}']`);
      if (input && "value" in input && input.type !== "hidden") input.value = "";
    });
  });
});
