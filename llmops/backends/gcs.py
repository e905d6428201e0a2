"""Cloud Storage as an ``ObjectStore``, over google-cloud-storage.

The same class talks to Google in the cloud and to the fake-gcs-server
emulator of the local platform; only the client it is given differs. Every
call carries an explicit retry and timeout: the client's defaults retry a 500
for ten minutes and a refused connection for two, which would hold an event
handler past its own deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from llmops.backends._google import TRANSIENT_ERRORS
from llmops.backends.base import StoredObject
from llmops.errors import (
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    TransientError,
)

logger = logging.getLogger(__name__)

# Whole-call budgets. The cloud gets a minute of retries; the emulator a few
# seconds, so that a stopped emulator fails a test instead of hanging it.
CLOUD_RETRY_SECONDS = 60.0
CLOUD_TIMEOUT_SECONDS = 60.0
EMULATOR_RETRY_SECONDS = 3.0
EMULATOR_TIMEOUT_SECONDS = 10.0

_TRANSIENT = TRANSIENT_ERRORS


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Raise the package's errors for the client's, naming ``what`` was asked."""
    try:
        yield
    except api_exceptions.NotFound as error:
        raise NotFoundError(f"{what}: not found ({error.message})") from error
    except api_exceptions.PreconditionFailed as error:
        raise ConflictError(
            f"{what}: the generation precondition failed, someone wrote first; "
            "read the object again and retry with its current generation"
        ) from error
    except (api_exceptions.Forbidden, api_exceptions.Unauthorized) as error:
        raise ConfigError(
            f"{what}: access denied ({error.message}); grant the caller's service "
            "account a Storage role on the bucket"
        ) from error
    except api_exceptions.BadRequest as error:
        raise InputError(f"{what}: rejected ({error.message})") from error
    except _TRANSIENT as error:
        raise TransientError(
            f"{what}: Cloud Storage is unavailable ({type(error).__name__}: "
            f"{error}); retry later"
        ) from error
    except api_exceptions.GoogleAPICallError as error:
        if error.code is not None and error.code >= 500:
            raise TransientError(
                f"{what}: Cloud Storage answered {error.code}; retry later"
            ) from error
        raise


class GcsObjectStore:
    """Objects with generations and preconditions, in Cloud Storage buckets."""

    def __init__(
        self,
        client: storage.Client,
        *,
        retry_seconds: float = CLOUD_RETRY_SECONDS,
        timeout_seconds: float = CLOUD_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._retry = DEFAULT_RETRY.with_timeout(retry_seconds)
        self._timeout = timeout_seconds

    @classmethod
    def for_emulator(
        cls,
        endpoint: str,
        *,
        project: str = "local",
        retry_seconds: float = EMULATOR_RETRY_SECONDS,
        timeout_seconds: float = EMULATOR_TIMEOUT_SECONDS,
    ) -> GcsObjectStore:
        """A store on an emulator at ``endpoint`` (``http://127.0.0.1:port``)."""
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                f"storage emulator endpoint {endpoint!r} must be a URL such as "
                "http://127.0.0.1:4443"
            )
        client = storage.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": endpoint.rstrip("/")},
        )
        return cls(client, retry_seconds=retry_seconds, timeout_seconds=timeout_seconds)

    @property
    def client(self) -> storage.Client:
        """The underlying client, for bucket administration."""
        return self._client

    def read(
        self, bucket: str, name: str, generation: int | None = None
    ) -> StoredObject:
        """Return the object (at ``generation`` if given) or raise NotFoundError."""
        what = f"read gs://{bucket}/{name}" + (
            f"#{generation}" if generation is not None else ""
        )
        with _translated(what):
            # Metadata first, then the bytes of exactly that generation, so the
            # content type and metadata returned belong to the data returned.
            blob = self._client.bucket(bucket).get_blob(
                name, generation=generation, retry=self._retry, timeout=self._timeout
            )
            if blob is None or blob.generation is None:
                raise NotFoundError(f"{what}: not found")
            pinned = self._client.bucket(bucket).blob(name, generation=blob.generation)
            data = pinned.download_as_bytes(retry=self._retry, timeout=self._timeout)
        return StoredObject(
            bucket=bucket,
            name=name,
            generation=int(blob.generation),
            data=data,
            content_type=blob.content_type,
            metadata=dict(blob.metadata or {}),
        )

    def write(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        if_generation_match: int | None = None,
    ) -> int:
        """Write and return the new generation; a failed precondition conflicts."""
        what = f"write gs://{bucket}/{name}"
        blob = self._client.bucket(bucket).blob(name)
        if metadata:
            blob.metadata = dict(metadata)
        # Only a conditional upload is safe to repeat: an unconditional one
        # that timed out may have landed, and a retry would add a generation.
        retry: api_retry.Retry | None = (
            self._retry if if_generation_match is not None else None
        )
        with _translated(what):
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=if_generation_match,
                retry=retry,
                timeout=self._timeout,
            )
        if blob.generation is None:
            raise TransientError(f"{what}: the upload returned no generation; retry")
        logger.debug(
            "gcs.write bucket=%s object=%s generation=%s bytes=%d",
            bucket,
            name,
            blob.generation,
            len(data),
        )
        return int(blob.generation)

    def live_generation(self, bucket: str, name: str) -> int | None:
        """The live object's generation (metadata only), or None if there is none."""
        with _translated(f"stat gs://{bucket}/{name}"):
            blob = self._client.bucket(bucket).get_blob(
                name, retry=self._retry, timeout=self._timeout
            )
        if blob is None or blob.generation is None:
            return None
        return int(blob.generation)

    def delete(
        self, bucket: str, name: str, *, if_generation_match: int | None = None
    ) -> None:
        """Delete the live object; a missing one is not an error."""
        what = f"delete gs://{bucket}/{name}"
        blob = self._client.bucket(bucket).blob(name)
        try:
            with _translated(what):
                blob.delete(
                    if_generation_match=if_generation_match,
                    retry=self._retry,
                    timeout=self._timeout,
                )
        except NotFoundError:
            logger.debug("gcs.delete_missing bucket=%s object=%s", bucket, name)

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        """Names of the live objects under ``prefix``."""
        with _translated(f"list gs://{bucket}/{prefix}"):
            return [
                blob.name
                for blob in self._client.list_blobs(
                    bucket,
                    prefix=prefix or None,
                    retry=self._retry,
                    timeout=self._timeout,
                )
            ]

    def ensure_bucket(self, bucket: str, *, versioned: bool = False) -> None:
        """Create ``bucket`` unless it exists; turn on versioning if asked."""
        with _translated(f"create bucket gs://{bucket}"):
            existing = self._client.lookup_bucket(
                bucket, retry=self._retry, timeout=self._timeout
            )
            if existing is not None:
                return
            new = self._client.bucket(bucket)
            new.versioning_enabled = versioned
            try:
                self._client.create_bucket(
                    new, retry=self._retry, timeout=self._timeout
                )
            except api_exceptions.Conflict:
                # Created by someone else between the lookup and the create.
                return
