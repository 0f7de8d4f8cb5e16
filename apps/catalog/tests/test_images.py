"""Product images (issue 16): multipart uploads checked by content, stored through Django's storage API
(the filesystem here; S3 against a real moto server below), ordered, at most ten per product, their files
removed only after the deleting transaction commits; REST, GraphQL and the admin through the same services."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from apps.audit.models import AuditLog
from apps.catalog import images as image_services
from apps.catalog.models import MAX_IMAGES, Product, ProductImage
from apps.catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    mode = "P" if image_format == "GIF" else "RGB"
    Image.new(mode, size, color=3 if mode == "P" else (200, 30, 30)).save(buffer, format=image_format)
    return buffer.getvalue()


def upload_file(data: bytes | None = None, name: str = "shirt.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type=content_type)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    data = bytearray(image_bytes())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return tmp_path


@pytest.fixture
def product(organization):
    return ProductFactory(organization=organization)


def post_image(client, product, data: bytes | None = None, **fields):
    body = {"file": upload_file(data, **{k: fields.pop(k) for k in ("name", "content_type") if k in fields})}
    body.update(fields)
    return client.post(f"{URL}{product.id}/images/", body, format="multipart")


class RollBack(Exception):
    pass


def delete_then_roll_back(image, actor, check=lambda: True) -> None:
    """Delete the image in a transaction that then rolls back; ``check`` runs (and must hold) before that."""
    try:
        with transaction.atomic():
            image_services.product_image_delete(image=image, actor=actor)
            assert check()  # e.g. the file is still there: never removed before the commit
            raise RollBack
    except RollBack:
        pass


def stored_names(product) -> list[str]:
    return list(ProductImage.objects.filter(product=product).order_by("position").values_list("file", flat=True))


# --- uploads ---------------------------------------------------------------------------------------------


def test_member_uploads_an_image_and_every_product_read_shows_it(api_client_for, api_client, member, product):
    client = api_client_for(member)

    response = post_image(client, product, alt="Red shirt")

    assert response.status_code == 201, response.content
    body = response.json()
    image = ProductImage.objects.get(pk=body["id"])
    assert image.file.name == f"products/{product.organization_id}/{product.id}/{image.id}.png"
    assert default_storage.exists(image.file.name)
    assert body["url"] == f"/media/{image.file.name}"
    assert (body["width"], body["height"], body["content_type"], body["alt"], body["position"]) == (
        8,
        6,
        "image/png",
        "Red shirt",
        0,
    )
    assert body["size_bytes"] == image.file.size
    entry = {"id": body["id"], "url": body["url"], "width": 8, "height": 6, "alt": "Red shirt", "position": 0}
    assert api_client.get(f"{URL}{product.id}/").json()["images"] == [entry]
    listed = {row["id"]: row for row in api_client.get(URL).json()["results"]}
    assert listed[str(product.id)]["images"] == [entry]
    assert AuditLog.objects.filter(action="product.image_added", resource_id=str(product.id), actor=member).exists()


@pytest.mark.parametrize(
    ("image_format", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("WEBP", "image/webp", "webp"),
        ("GIF", "image/gif", "gif"),
    ],
)
def test_the_format_is_read_from_the_content_not_the_name_or_declared_type(
    api_client_for, member, product, image_format, content_type, extension
):
    response = post_image(
        api_client_for(member), product, image_bytes(image_format), name="notes.txt", content_type="text/html"
    )

    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == content_type
    assert stored_names(product)[0].endswith(f".{extension}")


def _bmp() -> bytes:
    return image_bytes("BMP")


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"<script>alert(1)</script>", "evil.png", "image/png"),  # text named and typed as an image
        (_bmp(), "picture.png", "image/png"),  # an image, but not an accepted format
        (image_bytes("PNG")[:40], "cut.png", "image/png"),  # truncated
        (b"%PDF-1.4\n" + b"0" * 100, "doc.jpg", "image/jpeg"),
    ],
    ids=["text", "bmp", "truncated", "pdf"],
)
def test_anything_but_a_readable_jpeg_png_webp_or_gif_is_refused(
    api_client_for, member, product, media, data, name, content_type
):
    response = post_image(api_client_for(member), product, data, name=name, content_type=content_type)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "file" in error["details"]
    assert not ProductImage.objects.exists()
    assert not any(media.rglob("*.*"))


def test_an_image_over_the_size_limit_is_413(api_client_for, member, product, settings, media):
    settings.PRODUCT_IMAGE_MAX_BYTES = 50

    response = post_image(api_client_for(member), product)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["error"]["details"]["max_bytes"] == 50
    assert not any(media.rglob("*.*"))


def test_dimensions_are_limited(api_client_for, member, product, settings):
    settings.PRODUCT_IMAGE_MAX_DIMENSION = 7

    response = post_image(api_client_for(member), product)  # 8 x 6

    assert response.status_code == 400
    assert "8x6" in response.json()["error"]["details"]["file"][0]


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (7000, 10), (0, 5)])
def test_a_decompression_bomb_or_degenerate_header_is_refused_without_decoding(
    api_client_for, member, product, width, height
):
    response = post_image(api_client_for(member), product, png_claiming(width, height))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not ProductImage.objects.exists()


def test_no_file_and_json_bodies_are_refused(api_client_for, member, product):
    client = api_client_for(member)

    missing = client.post(f"{URL}{product.id}/images/", {"alt": "x"}, format="multipart")
    as_json = client.post(f"{URL}{product.id}/images/", {"file": "aGVsbG8="}, format="json")

    assert missing.status_code == 400
    assert "file" in missing.json()["error"]["details"]
    assert as_json.status_code == 415
    assert as_json.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_at_most_ten_images_per_product(api_client_for, member, product, media):
    client = api_client_for(member)
    for _ in range(MAX_IMAGES):
        assert post_image(client, product).status_code == 201

    response = post_image(client, product)

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"reason": "too_many_images", "max": MAX_IMAGES}
    assert ProductImage.objects.filter(product=product).count() == MAX_IMAGES
    assert len(list(media.rglob("*.png"))) == MAX_IMAGES


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_exceed_ten(organization, media):
    # given: 8 images, and 4 uploads racing in real transactions for the last 2 places
    import threading

    from django.db import connection

    from apps.core.exceptions import Conflict

    product = ProductFactory(organization=organization)
    for _ in range(MAX_IMAGES - 2):
        image_services.product_image_add(product=product, upload=upload_file())
    results: list[str] = []
    barrier = threading.Barrier(4)

    def upload():
        try:
            barrier.wait()
            image_services.product_image_add(product=product, upload=upload_file())
            results.append("ok")
        except Conflict:
            results.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: two got in, two were refused, and the refused ones left no file behind
    assert sorted(results) == ["full", "full", "ok", "ok"]
    assert ProductImage.objects.filter(product=product).count() == MAX_IMAGES
    assert len(list(media.rglob("*.png"))) == MAX_IMAGES
    assert [entry["position"] for entry in Product.objects.get(pk=product.pk).images] == list(range(MAX_IMAGES))


def test_a_failure_after_storing_removes_the_file_again(member, product, media, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(image_services, "_announce", boom)

    with pytest.raises(RuntimeError):
        image_services.product_image_add(product=product, upload=upload_file(), actor=member)

    assert not ProductImage.objects.exists()
    assert not any(media.rglob("*.*"))


# --- order, alt text, deletion ---------------------------------------------------------------------------


def test_positions_stay_0_to_n_and_the_product_list_follows(api_client_for, member, product):
    client = api_client_for(member)
    first = post_image(client, product, alt="first").json()
    second = post_image(client, product, alt="second").json()
    front = post_image(client, product, alt="front", position="0").json()

    assert [entry["alt"] for entry in Product.objects.get(pk=product.pk).images] == ["front", "first", "second"]

    moved = client.patch(f"{URL}{product.id}/images/{second['id']}/", {"position": 0, "alt": "Second!"}, format="json")

    assert moved.status_code == 200, moved.content
    assert (moved.json()["position"], moved.json()["alt"]) == (0, "Second!")
    listed = client.get(f"{URL}{product.id}/images/").json()
    assert [(row["id"], row["position"]) for row in listed] == [(second["id"], 0), (front["id"], 1), (first["id"], 2)]
    product_images = client.get(f"{URL}{product.id}/").json()["images"]
    assert [(entry["id"], entry["position"], entry["alt"]) for entry in product_images] == [
        (second["id"], 0, "Second!"),
        (front["id"], 1, "front"),
        (first["id"], 2, "first"),
    ]


def test_deleting_an_image_removes_its_file_after_commit(
    api_client_for, member, product, django_capture_on_commit_callbacks
):
    client = api_client_for(member)
    first = post_image(client, product).json()
    second = post_image(client, product).json()
    name = ProductImage.objects.get(pk=first["id"]).file.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"{URL}{product.id}/images/{first['id']}/")

    assert response.status_code == 204
    assert not default_storage.exists(name)
    assert [(e["id"], e["position"]) for e in Product.objects.get(pk=product.pk).images] == [(second["id"], 0)]
    assert AuditLog.objects.filter(action="product.image_deleted", resource_id=str(product.id)).exists()


def test_a_rolled_back_delete_keeps_the_file(member, product, django_capture_on_commit_callbacks):
    image = image_services.product_image_add(product=product, upload=upload_file(), actor=member)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delete_then_roll_back(image, member, check=lambda: default_storage.exists(image.file.name))

    assert callbacks == []
    assert default_storage.exists(image.file.name)
    assert ProductImage.objects.filter(pk=image.pk).exists()


def test_deleting_the_product_discards_its_images_and_files_after_commit(
    api_client_for, owner, product, django_capture_on_commit_callbacks
):
    image = image_services.product_image_add(product=product, upload=upload_file(), actor=owner)

    with django_capture_on_commit_callbacks(execute=True):
        assert api_client_for(owner).delete(f"{URL}{product.id}/").status_code == 204

    assert not default_storage.exists(image.file.name)
    assert not ProductImage.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).images == []


def test_the_cleanup_purge_removes_files_left_behind(product, settings, django_capture_on_commit_callbacks):
    from apps.catalog.cleanup import soft_deleted_products

    image = image_services.product_image_add(product=product, upload=upload_file())
    Product.objects.filter(pk=product.pk).update(deleted_at="2020-01-01T00:00:00Z")  # soft-deleted long ago

    with django_capture_on_commit_callbacks(execute=True):
        assert soft_deleted_products() == 1  # the step counts products (their images and variants go with them)

    assert not default_storage.exists(image.file.name)


# --- tenants and roles -----------------------------------------------------------------------------------


@pytest.fixture
def existing(member, product):
    return image_services.product_image_add(product=product, upload=upload_file(), actor=member)


def _call(client, method, product, image):
    base = f"{URL}{product.id}/images/"
    if method == "upload":
        return post_image(client, product)
    if method == "list":
        return client.get(base)
    if method == "change":
        return client.patch(f"{base}{image.id}/", {"alt": "x"}, format="json")
    return client.delete(f"{base}{image.id}/")


@pytest.mark.parametrize(
    ("actor", "method", "status"),
    [
        ("outsider", "upload", 404),
        ("outsider", "list", 404),
        ("outsider", "change", 404),
        ("outsider", "delete", 404),
        ("viewer", "upload", 403),
        ("viewer", "list", 200),
        ("viewer", "change", 403),
        ("viewer", "delete", 403),
        ("member", "upload", 201),
        ("member", "list", 200),
        ("member", "change", 200),
        ("member", "delete", 204),
        (None, "upload", 401),
        (None, "list", 401),
        (None, "change", 401),
        (None, "delete", 401),
    ],
)
def test_tenant_isolation_and_roles(request, api_client, api_client_for, product, existing, actor, method, status):
    client = api_client_for(request.getfixturevalue(actor)) if actor else api_client

    response = _call(client, method, product, existing)

    assert response.status_code == status, response.content
    if status >= 400:
        assert (
            response.json()["error"]["code"]
            == {
                401: "UNAUTHORIZED",
                403: "FORBIDDEN",
                404: "NOT_FOUND",
            }[status]
        )
        assert ProductImage.objects.filter(product=product).count() == 1
        assert ProductImage.objects.get(pk=existing.pk).alt == ""


def test_another_products_image_id_is_404(api_client_for, member, organization, existing):
    other = ProductFactory(organization=organization)

    response = api_client_for(member).delete(f"{URL}{other.id}/images/{existing.id}/")

    assert response.status_code == 404
    assert ProductImage.objects.filter(pk=existing.pk).exists()


# --- query counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, MAX_IMAGES])
def test_the_image_list_runs_constant_queries(api_client_for, member, product, count, django_assert_num_queries):
    for _ in range(count):
        image_services.product_image_add(product=product, upload=upload_file())
    client = api_client_for(member)
    client.get(f"{URL}{product.id}/images/")  # warm the session

    # the session and user, the product (with its organization), the member's permissions, the images
    with django_assert_num_queries(5):
        response = client.get(f"{URL}{product.id}/images/")

    assert len(response.json()) == count


def test_the_product_list_with_images_stays_one_page_query(
    api_client_for, member, organization, django_assert_num_queries
):
    for product in ProductFactory.create_batch(20, organization=organization):
        image_services.product_image_add(product=product, upload=upload_file())
    client = api_client_for(member)

    with django_assert_num_queries(4):  # as without images (test_api): the images are the product's column
        response = client.get(f"{URL}?page_size=100&organization=acme")

    assert all(len(row["images"]) == 1 for row in response.json()["results"])


# --- images given as URLs before uploads (migration 0007) ------------------------------------------------


def test_the_migration_turns_url_strings_into_rows_without_loss(organization):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apps.catalog.migrations.0007_product_images")
    product = ProductFactory(organization=organization)
    urls = ["https://img.example.com/a.png", "https://img.example.com/b.png"]
    Product.objects.filter(pk=product.pk).update(images=urls)

    migration.urls_to_rows(apps, None)

    rows = list(ProductImage.objects.filter(product=product).order_by("position"))
    assert [(row.external_url, row.position, bool(row.file)) for row in rows] == [
        (urls[0], 0, False),
        (urls[1], 1, False),
    ]
    assert Product.objects.get(pk=product.pk).images == [
        {"id": str(row.id), "url": row.url, "width": None, "height": None, "alt": "", "position": row.position}
        for row in rows
    ]
    migration.rows_to_urls(apps, None)
    assert Product.objects.get(pk=product.pk).images == urls


def test_an_image_given_as_a_url_is_deleted_like_an_upload(member, product, django_capture_on_commit_callbacks):
    image = ProductImage.objects.create(
        organization_id=product.organization_id, product=product, external_url="https://img.example.com/a.png"
    )

    with django_capture_on_commit_callbacks(execute=True):
        image_services.product_image_delete(image=image, actor=member)

    assert not ProductImage.objects.filter(pk=image.pk).exists()


def test_images_cannot_be_written_through_the_product(api_client_for, member, product):
    response = api_client_for(member).patch(
        f"{URL}{product.id}/", {"images": ["https://img.example.com/x.png"], "name": "Renamed"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["images"] == []


# --- GraphQL and the admin -------------------------------------------------------------------------------

GQL_PRODUCT = "query($id: UUID!) { product(id: $id) { id images { id url width height alt position } } }"
GQL_DELETE = """
mutation($productId: UUID!, $imageId: UUID!) {
  deleteProductImage(productId: $productId, imageId: $imageId) { id images { id position } }
}"""


@pytest.fixture
def gql(api_client_for):
    from rest_framework.test import APIClient

    from apps.graphql.tests.conftest import GraphQLResult

    clients: dict = {}

    def run(query, variables, user=None):
        if user is not None and user.pk not in clients:
            clients[user.pk] = api_client_for(user)
        client = clients[user.pk] if user is not None else APIClient()
        return GraphQLResult(client.post("/graphql", {"query": query, "variables": variables}, format="json"))

    return run


def test_graphql_shows_the_images_as_objects(gql, product, existing):
    result = gql(GQL_PRODUCT, {"id": str(product.pk)})

    assert result.errors == []
    assert result.data["product"]["images"] == [
        {"id": str(existing.pk), "url": existing.url, "width": 8, "height": 6, "alt": "", "position": 0}
    ]


@pytest.mark.parametrize(("actor", "code"), [("viewer", "FORBIDDEN"), ("outsider", "NOT_FOUND"), ("member", None)])
def test_graphql_deletes_an_image_through_the_service(
    request, gql, product, existing, actor, code, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = gql(
            GQL_DELETE,
            {"productId": str(product.pk), "imageId": str(existing.pk)},
            user=request.getfixturevalue(actor),
        )

    if code:
        assert result.codes == [code]
        assert default_storage.exists(existing.file.name)
        return
    assert result.errors == []
    assert result.data["deleteProductImage"]["images"] == []
    assert not default_storage.exists(existing.file.name)


def test_the_admin_lists_images_on_the_product_and_deletes_through_the_service(
    admin_client, product, existing, django_capture_on_commit_callbacks
):
    page = admin_client.get(f"/admin/catalog/product/{product.id}/change/").content.decode()
    assert existing.url in page
    assert f"/admin/catalog/productimage/{existing.id}/change/" in page

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/productimage/",
            {"action": "delete_through_service", "_selected_action": [str(existing.id)]},
        )

    assert not ProductImage.objects.filter(pk=existing.pk).exists()
    assert not default_storage.exists(existing.file.name)
    assert Product.objects.get(pk=product.pk).images == []


def test_admin_staff_of_another_organization_cannot_see_or_delete_images(client, other_organization, existing):
    from django.contrib.auth.models import Permission

    from apps.organizations.tests.factories import MembershipFactory

    staff = MembershipFactory(organization=other_organization, role="admin").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_productimage", "change_productimage"]))
    client.force_login(staff)

    assert client.get(f"/admin/catalog/productimage/{existing.id}/change/").status_code == 302  # "does not exist"
    client.post(
        "/admin/catalog/productimage/", {"action": "delete_through_service", "_selected_action": [str(existing.id)]}
    )
    assert ProductImage.objects.filter(pk=existing.pk).exists()


def test_admin_staff_whose_role_is_viewer_cannot_delete(client, organization, existing):
    from django.contrib.auth.models import Permission

    from apps.organizations.tests.factories import MembershipFactory

    staff = MembershipFactory(organization=organization, role="viewer").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_productimage", "change_productimage"]))
    client.force_login(staff)

    response = client.post(
        "/admin/catalog/productimage/",
        {"action": "delete_through_service", "_selected_action": [str(existing.id)]},
        follow=True,
    )

    assert "permission" in response.content.decode().lower()
    assert ProductImage.objects.filter(pk=existing.pk).exists()


# --- S3: a real S3-compatible server (moto's, in server mode on the loopback), not a mock object ----------


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings):
    import uuid

    import boto3

    bucket = f"olympus-media-{uuid.uuid4().hex[:12]}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=s3_server, **credentials)
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **settings.MEDIA_S3_OPTIONS,
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
            },
        },
    }
    return client, bucket


def _keys(client, bucket) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_s3_upload_stores_the_object_with_the_detected_type_and_delete_removes_it_after_commit(
    s3_bucket, s3_server, api_client_for, member, product, django_capture_on_commit_callbacks
):
    client, bucket = s3_bucket
    api = api_client_for(member)

    response = post_image(api, product, image_bytes("JPEG"), name="shirt.png", content_type="image/png")

    assert response.status_code == 201, response.content
    image = ProductImage.objects.get(pk=response.json()["id"])
    key = f"products/{product.organization_id}/{product.id}/{image.id}.jpg"
    assert image.file.name == key
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "image/jpeg"  # what the bytes are, not what the client said
    assert head["ContentLength"] == image.size_bytes
    # Unsigned (the URL is kept with the product), on the bucket's endpoint.
    assert response.json()["url"] == f"{s3_server}/{bucket}/{key}"
    assert Product.objects.get(pk=product.pk).images[0]["url"] == response.json()["url"]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delete_then_roll_back(image, member)
    assert callbacks == []
    assert _keys(client, bucket) == [key]  # a rolled-back delete keeps the object

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.delete(f"{URL}{product.id}/images/{image.id}/").status_code == 204
        assert _keys(client, bucket) == [key]  # not before the commit
    for callback in callbacks:
        callback()

    assert _keys(client, bucket) == []


def test_s3_product_delete_removes_every_object_after_commit(
    s3_bucket, api_client_for, owner, product, django_capture_on_commit_callbacks
):
    client, bucket = s3_bucket
    api = api_client_for(owner)
    for image_format in ("PNG", "WEBP"):
        assert post_image(api, product, image_bytes(image_format)).status_code == 201
    assert len(_keys(client, bucket)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}{product.id}/").status_code == 204

    assert _keys(client, bucket) == []


@pytest.mark.parametrize("rows", [1, 10])
def test_graphql_products_with_images_in_constant_queries(
    api_client_for, gql, organization, member, rows, django_assert_num_queries
):
    for product in ProductFactory.create_batch(rows, organization=organization):
        for _ in range(2):
            image_services.product_image_add(product=product, upload=upload_file())
    query = "{ products(first: 100) { edges { node { name images { id url width position } } } } }"
    gql("{ me { id } }", {}, user=member)

    # session, my organizations, the products page: the images are the product's own column
    with django_assert_num_queries(3):
        result = gql(query, {}, user=member)

    assert result.errors == []
    assert [len(edge["node"]["images"]) for edge in result.data["products"]["edges"]] == [2] * rows


@pytest.mark.parametrize("rows", [1, 10])
def test_the_admin_image_list_runs_constant_queries(admin_client, organization, rows, django_assert_num_queries):
    for product in ProductFactory.create_batch(rows, organization=organization):
        image_services.product_image_add(product=product, upload=upload_file())
    admin_client.get("/admin/catalog/productimage/")

    # session, user, a LIMITed count, the page with products and organizations joined (no organization list
    # for a superuser, apps/core/admin_paginator.py)
    with django_assert_num_queries(4):
        response = admin_client.get("/admin/catalog/productimage/")

    assert response.status_code == 200
    assert response.content.decode().count("/media/products/") == rows


def test_the_admin_uploads_through_the_service(admin_client, product, django_capture_on_commit_callbacks):
    response = admin_client.post(
        "/admin/catalog/productimage/add/",
        {
            "product": str(product.pk),
            "file": upload_file(image_bytes("WEBP"), name="x.gif"),
            "alt": "Side",
            "place": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    image = ProductImage.objects.get(product=product)
    assert (image.content_type, image.alt, image.position) == ("image/webp", "Side", 0)
    assert default_storage.exists(image.file.name)
    assert Product.objects.get(pk=product.pk).images[0]["id"] == str(image.pk)
    assert AuditLog.objects.filter(action="product.image_added", resource_id=str(product.id)).exists()


def test_the_admin_refuses_what_rest_refuses(admin_client, product):
    response = admin_client.post(
        "/admin/catalog/productimage/add/",
        {"product": str(product.pk), "file": upload_file(b"not an image"), "alt": ""},
        follow=True,
    )

    assert "Not a JPEG, PNG, WebP or GIF image" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_admin_staff_may_upload_only_to_their_organizations_products(client, organization, other_organization):
    from django.contrib.auth.models import Permission

    from apps.organizations.tests.factories import MembershipFactory

    staff = MembershipFactory(organization=organization, role="member").user
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["add_productimage", "view_productimage"]))
    theirs = ProductFactory(organization=other_organization)
    client.force_login(staff)

    response = client.post(
        "/admin/catalog/productimage/add/", {"product": str(theirs.pk), "file": upload_file(), "alt": ""}
    )

    assert response.status_code == 200  # the form again: not a choice
    assert "Select a valid choice" in response.content.decode()
    assert not ProductImage.objects.exists()
