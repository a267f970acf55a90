from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0002_dkimkey"),
    ]

    operations = [
        migrations.AddField(
            model_name="maildomain",
            name="is_disabled",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="mailbox",
            name="is_disabled",
            field=models.BooleanField(default=False),
        ),
    ]
