"""The production services for a test session: a Redis database of its own, an S3 server.

``tests/settings.py`` calls these before loading Relais' settings when the environment
asks for the production configuration (``RELAIS_TASKS_BACKEND=rq``, ``RELAIS_STORAGE=s3``).
What they choose is written to ``os.environ``, so the worker and web processes a test
starts inherit it and talk to the same Redis database and S3 bucket.
"""

import atexit
import os
import socket
from urllib.parse import urlsplit, urlunsplit

CLAIM_KEY = "relais:test-session"
TEST_DBS = range(8, 16)  # Redis databases test sessions may claim


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_redis_db() -> str:
    """Claim a Redis database no other live test session uses; empty it; return its URL.

    Several test runs (CI's, developers') may share one Redis: each session takes a
    database of its own (a key holding its pid marks it), so queues never mix.
    """
    import redis

    base = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    me = str(os.getpid())
    for db in TEST_DBS:
        url = urlunsplit(base._replace(path=f"/{db}"))
        client = redis.Redis.from_url(url)
        owner = client.get(CLAIM_KEY)
        if owner is not None and _alive(int(owner)):
            continue
        if owner is not None:
            client.delete(CLAIM_KEY)  # left by a dead session
        if client.set(CLAIM_KEY, me, nx=True, ex=12 * 3600):
            client.flushdb()
            client.set(CLAIM_KEY, me, ex=12 * 3600)

            def release(client=client):
                if client.get(CLAIM_KEY) == me.encode():
                    client.flushdb()

            atexit.register(release)
            return url
    raise RuntimeError(f"No free Redis database among {list(TEST_DBS)} for the tests.")


def empty_redis_db() -> None:
    """Drop every key of the session's database but its claim (between tests)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    owner = client.get(CLAIM_KEY)
    client.flushdb()
    if owner is not None:
        client.set(CLAIM_KEY, owner, ex=12 * 3600)


def start_s3() -> None:
    """Start moto's S3 server in this process on a free port and create the bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    atexit.register(server.stop)
    os.environ.update(
        AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="relais-tests",
        AWS_SECRET_ACCESS_KEY="relais-tests",
        AWS_S3_REGION_NAME="eu-west-3",
        AWS_DEFAULT_REGION="eu-west-3",
    )
    os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "relais-recordings")
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
                      region_name="eu-west-3")
    s3.create_bucket(Bucket=os.environ["AWS_STORAGE_BUCKET_NAME"],
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    # As a production bucket should be: no public access whatever the object ACLs say.
    s3.put_public_access_block(
        Bucket=os.environ["AWS_STORAGE_BUCKET_NAME"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )


def production_services() -> None:
    """Called by tests/settings.py: set up what the environment's configuration needs."""
    if os.environ.get("RELAIS_TEST_SERVICES_READY"):
        return  # a process started by a test: its parent did it
    if os.environ.get("RELAIS_TASKS_BACKEND") == "rq":
        os.environ["REDIS_URL"] = claim_redis_db()
    if os.environ.get("RELAIS_STORAGE") == "s3" and not os.environ.get("AWS_S3_ENDPOINT_URL"):
        start_s3()
    os.environ["RELAIS_TEST_SERVICES_READY"] = "1"


def assert_private_on_s3(fieldfile) -> None:
    """The object behind ``fieldfile`` is private: its ACL grants nobody but the owner,
    an unsigned request is refused, and only a signed (expiring) URL could read it."""
    import urllib.error
    import urllib.request

    storage = fieldfile.storage
    obj = storage.bucket.Object(storage._normalize_name(fieldfile.name))
    grants = obj.Acl().grants
    assert grants and all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants), grants
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"], grants
    url = fieldfile.url
    assert "X-Amz-Signature=" in url or "Signature=" in url, url
    unsigned = url.split("?", 1)[0]
    try:
        with urllib.request.urlopen(unsigned, timeout=10) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 403, f"an unsigned GET of a recording answered {status}"
