"""Seed AnalysisDefinition with the paper's set (analysis/definitions.py PAPER_DEFINITIONS).

Get-or-create by code: a definition edited in the admin keeps its edits, a new one in the list is added.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from analysis.definitions import PAPER_DEFINITIONS

    AnalysisDefinition = apps.get_model("analysis", "AnalysisDefinition")
    for item in PAPER_DEFINITIONS:
        AnalysisDefinition.objects.get_or_create(code=item["code"], defaults={
            k: v for k, v in item.items() if k != "code"})


def unseed(apps, schema_editor):
    from analysis.definitions import PAPER_DEFINITIONS

    AnalysisDefinition = apps.get_model("analysis", "AnalysisDefinition")
    AnalysisDefinition.objects.filter(code__in=[d["code"] for d in PAPER_DEFINITIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("analysis", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
