import factory
from django.utils import timezone

from apps.accounts.models import User

DEFAULT_PASSWORD = "Correct-horse-9!"


class UserFactory(factory.django.DjangoModelFactory):
    """An active, email-verified user whose password is ``DEFAULT_PASSWORD``.

    Pass ``status=User.Status.SUSPENDED`` (etc.) for another status: ``is_active`` follows it.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    status = User.Status.ACTIVE
    is_active = factory.LazyAttribute(lambda o: o.status == User.Status.ACTIVE)
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
