import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_migration_0002_gives_existing_users_a_status_matching_is_active():
    # given: the schema of 0001 with an active and an inactive user
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    old_apps = executor.loader.project_state([("accounts", "0001_initial")]).apps
    OldUser = old_apps.get_model("accounts", "User")
    OldUser.objects.create(email="on@example.com", is_active=True)
    OldUser.objects.create(email="off@example.com", is_active=False)

    # when
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    # then
    from apps.accounts.models import User

    assert dict(User.objects.values_list("email", "status")) == {
        "on@example.com": "active",
        "off@example.com": "inactive",
    }
