"""The page version moves to the infra app; django-axes replaces our log-in failures table."""

import django_countries.fields
from django.db import migrations

import gallery.models


def carry_the_version_over(apps, schema_editor):
    # One past the old number, so that no ETag a browser holds can match a new page.
    old = apps.get_model("gallery", "CatalogueState").objects.filter(pk=1).first()
    version = (old.version + 1) if old else 1
    apps.get_model("infra", "PageVersion").objects.update_or_create(
        pk=1, defaults={"version": version}
    )


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0008_newest_published_index'),
        ('infra', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(carry_the_version_over, migrations.RunPython.noop),
        migrations.DeleteModel(name='CatalogueState'),
        migrations.DeleteModel(name='LoginFailure'),
        migrations.AlterField(
            model_name='clip',
            name='credit_country',
            field=django_countries.fields.CountryField(blank=True, countries=gallery.models.EuropeanCountries, max_length=2, verbose_name='country'),
        ),
    ]
