"""core.fields.FieldsOncePerThread: input fields built once per thread, validation unchanged."""

import threading

from rest_framework import serializers

from apps.core.fields import FieldsOncePerThread


class Address(serializers.Serializer):
    city = serializers.CharField(max_length=5)


class Line(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)


class Plain(serializers.Serializer):
    name = serializers.CharField(max_length=3)
    lines = serializers.ListField(child=Line(), min_length=1)
    address = Address()
    notes = serializers.CharField(required=False, default="")


class Once(FieldsOncePerThread, Plain):
    pass


CASES = [
    {"name": "abc", "lines": [{"quantity": 2}], "address": {"city": "Rome"}},
    {"name": "abcd", "lines": [{"quantity": 0}], "address": {"city": "Bologna"}},
    {"name": "x", "lines": [], "address": {}},
    {"lines": [{"quantity": "many"}, {"quantity": 1}], "address": "nowhere"},
    {"name": "ok", "lines": [{"quantity": 3}], "address": {"city": "Pisa"}, "notes": "hi"},
]


def outcome(serializer_class, data):
    serializer = serializer_class(data=data)
    return serializer.is_valid(), dict(serializer.validated_data) if serializer.is_valid() else serializer.errors


def test_the_same_results_and_errors_as_drf_builds_them_case_after_case():
    for data in CASES * 2:  # the second pass reuses the fields the first one built
        assert outcome(Once, data) == outcome(Plain, data)


def test_fields_are_built_once_per_thread_and_bound_to_the_instance_validating():
    first, second = Once(data=CASES[0]), Once(data=CASES[1])
    assert first.fields["name"] is second.fields["name"]
    assert second.fields["address"].fields["city"].root is second
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(Once(data=CASES[0]).fields["name"]))
    thread.start()
    thread.join()
    assert elsewhere[0] is not first.fields["name"]


def test_an_error_in_one_instance_does_not_reach_the_next():
    bad, good = Once(data=CASES[1]), Once(data=CASES[0])
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert good.validated_data["address"] == {"city": "Rome"}
