"""Seed Drug, Regimen and RegimenComponent from the regimen code list (registry/crfs/validation/regimens.py).

Upserts by code, so re-running after the list grows adds the new entries and leaves existing rows' ids alone.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from registry.crfs.validation.regimens import DRUGS, REGIMENS

    Drug = apps.get_model("crfs", "Drug")
    Regimen = apps.get_model("crfs", "Regimen")
    RegimenComponent = apps.get_model("crfs", "RegimenComponent")
    drugs = {}
    for d in DRUGS.values():
        drugs[d.code], _ = Drug.objects.update_or_create(
            code=d.code,
            defaults={"name": d.name, "atc_code": d.atc_code, "is_platinum": d.is_platinum,
                      "platinum_agent": d.platinum_agent or "", "is_cytotoxic": d.is_cytotoxic},
        )
    for r in REGIMENS:
        regimen, _ = Regimen.objects.update_or_create(code=r.code, defaults={"label": r.label})
        for code in r.drugs:
            RegimenComponent.objects.get_or_create(regimen=regimen, drug=drugs[code])


class Migration(migrations.Migration):
    dependencies = [("crfs", "0002_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
