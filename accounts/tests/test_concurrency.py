"""Moving the system administrator designation is safe when two admins do it at once."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import services
from accounts.models import User
from portal.testing.factories import UserFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
def test_two_admins_moving_the_designation_at_once_leave_exactly_one():
    UserFactory(username="alice", role=User.Role.ADMIN, is_system_administrator=True)
    candidates = [UserFactory(username=f"admin{i}", role=User.Role.ADMIN) for i in range(4)]
    start = threading.Barrier(len(candidates))
    outcomes: list[str] = []

    def take(candidate: User) -> None:
        from django.db import connections

        try:
            start.wait()
            services.user_update(
                by=candidate, user=candidate, fields={"is_system_administrator": True}
            )
            outcomes.append("moved")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Every move went through, one after the other; the last one holds it.
    assert outcomes == ["moved"] * len(candidates)
    holders = list(User.objects.filter(is_system_administrator=True))
    assert len(holders) == 1
    assert holders[0] in candidates
