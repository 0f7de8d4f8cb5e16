import factory
from django.utils import timezone

from apps.accounts.models import User

DEFAULT_PASSWORD = "Correct-horse-9!"


class UserFactory(factory.django.DjangoModelFactory):
    """An active, email-verified user whose password is ``DEFAULT_PASSWORD``.

    Pass ``status=User.Status.SUSPENDED`` (etc.) for another status: ``is_active`` follows it;
    ``is_active=False`` alone gives status ``inactive`` (the database keeps the two in step).
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

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if kwargs.get("is_active") is False and kwargs.get("status") == User.Status.ACTIVE:
            kwargs["status"] = User.Status.INACTIVE
        return kwargs

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
