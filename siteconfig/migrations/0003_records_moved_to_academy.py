"""EmailDelivery and SideEffectRecord moved to the ground-floor app ``academy`` with their tables."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("siteconfig", "0002_emaildelivery_reconcile"),
        ("academy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="EmailDelivery"),
                migrations.DeleteModel(name="SideEffectRecord"),
            ],
        ),
    ]
