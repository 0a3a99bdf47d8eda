"""Fill the stored completeness counts of existing form rows.

The counts come from the live model's `completeness_counts()` (the one definition of "required"), applied to an
unsaved instance built from the historical row's values, so later field additions cannot break this step. The
update is plain SQL per chunk of 2,000 rows; the audit triggers still record each row's change."""

from django.apps import apps as global_apps
from django.db import migrations

CHUNK = 2000


def _form_models():
    from registry.crfs.models.base import CaseReportForm

    return [m for m in global_apps.get_app_config("crfs").get_models()
            if issubclass(m, CaseReportForm) and not m._meta.abstract]


def _store(schema_editor, table: str, values: list[tuple[int, int, int]]) -> None:
    if not values:
        return
    qn = schema_editor.connection.ops.quote_name
    rows = ", ".join(["(%s, %s, %s)"] * len(values))
    # Only the quoted table name is interpolated; every value is a query parameter.
    sql = (f"UPDATE {qn(table)} AS t SET required_count = v.c, required_filled = v.f "  # noqa: S608
           f"FROM (VALUES {rows}) AS v(id, c, f) WHERE t.id = v.id")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, [x for row in values for x in row])


def fill(apps, schema_editor):
    for live in _form_models():
        historical = apps.get_model("crfs", live.__name__)
        attnames = [f.attname for f in historical._meta.concrete_fields
                    if f.name not in ("required_count", "required_filled")]
        live_attnames = {f.attname for f in live._meta.concrete_fields}
        attnames = [a for a in attnames if a in live_attnames]
        batch = []
        for values in historical.objects.order_by("pk").values_list(*attnames).iterator(chunk_size=CHUNK):
            form = live(**dict(zip(attnames, values, strict=True)))
            batch.append((form.pk, *form.completeness_counts()))
            if len(batch) >= CHUNK:
                _store(schema_editor, historical._meta.db_table, batch)
                batch = []
        _store(schema_editor, historical._meta.db_table, batch)


class Migration(migrations.Migration):
    dependencies = [("crfs", "0004_form_completeness_counts")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
