"""Every S3 failure mapped in one place: botocore's exceptions -> the one-line :class:`SourceError`,
:class:`TransientSourceError` (exit 75) or :class:`ConfigError` that names the object and the next step.

No message holds a credential or the user:password part of an endpoint URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sparkify.errors import ConfigError, SourceError, SparkifyError, TransientSourceError

CREDENTIALS_HINT = "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run `aws configure`."


THROTTLED_CODES = (
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "TooManyRequests",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "503",
    "500",
)
"""S3 answers that mean "not now": after botocore's own retries, a temporary failure (exit 75)."""


def is_retryable(exc: BaseException) -> bool:
    """True for a read failure worth another try: throttling, a 5xx, a timeout, a dropped
    connection or a body shorter than its Content-Length."""
    error = s3_error(exc, "", "")
    return isinstance(error, TransientSourceError)


def s3_error(
    exc: BaseException,
    bucket: str,
    where: str,
    *,
    endpoint: str = "",
    listed: bool = False,
    writing: bool = False,
) -> SparkifyError | None:
    """The one-line :class:`SourceError` for a botocore exception, naming ``where`` (an s3:// URI);
    None for any other exception. Every S3 failure is mapped here, and only here.

    ``listed`` says the object was just listed, so "no such key" means it vanished since; ``writing``
    that sparkify was putting ``where`` (a Redshift run's staged rows). No message
    holds a credential: none is ever sent to S3, and server messages are used only for unknown codes.
    """
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket" and writing:
            return SourceError(
                f"Bucket {bucket} does not exist (writing {where}). Check manifest_prefix "
                "(SPARKIFY_MANIFEST_PREFIX, or sparkify.toml) and the AWS account."
            )
        if code == "NoSuchBucket":
            return SourceError(
                f"Bucket {bucket} does not exist (reading {where}). Check --source and the AWS account."
            )
        if code in ("NoSuchKey", "404", "NotFound") and listed:
            return TransientSourceError(  # the next run lists the source again: worth retrying (75)
                f"{where} was listed but is gone: it was deleted while sparkify read it. Nothing was "
                "loaded; run again."
            )
        if code in THROTTLED_CODES or (isinstance(status, int) and status >= 500) or status == 429:
            return TransientSourceError(
                f"S3 is throttling or failing ({code or status}) reading {where}, even after retries. Run again later."
            )
        if code in (
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "InvalidToken",
            "TokenRefreshRequired",
        ):
            return ConfigError(
                f"S3 rejected the AWS credentials ({code}) reading {where}. {CREDENTIALS_HINT}"
            )
        if code == "InvalidObjectState":  # 403 too, but no permission is missing
            return SourceError(
                f"{where} is archived (a storage class such as GLACIER or DEEP_ARCHIVE keeps it offline): "
                "restore it (aws s3api restore-object) or move it out of the source, then run again."
            )
        if (code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403) and writing:
            # a source bucket that may be read but not written (a public one): say where else to stage
            return SourceError(
                f"Access denied writing {where} ({code or status}): the AWS credentials need s3:PutObject "
                "there. Point manifest_prefix (SPARKIFY_MANIFEST_PREFIX, or sparkify.toml) at an s3:// "
                "place this machine may write and the cluster's IAM role may read."
            )
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            need = "s3:GetObject on it" if listed else f"s3:ListBucket on bucket {bucket}"
            return SourceError(
                f"Access denied to {where} ({code or status}): the AWS credentials need {need}."
            )
        message = str(error.get("Message") or "").splitlines()[0:1]
        detail = f": {message[0]}" if message else ""
        return SourceError(f"S3 error {code or status} reading {where}{detail}.")
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError, bce.CredentialRetrievalError)):
        return ConfigError(f"No usable AWS credentials to read {where}. {CREDENTIALS_HINT}")
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ProxyConnectionError)):
        return TransientSourceError(
            f"Cannot connect to S3 at {_show_endpoint(endpoint)} to read {where}. Check --s3-endpoint, "
            "AWS_ENDPOINT_URL and the network."
        )
    if isinstance(exc, bce.ReadTimeoutError):
        from sparkify.sources.s3 import READ_TIMEOUT_SECONDS

        return TransientSourceError(
            f"S3 at {_show_endpoint(endpoint)} did not answer within {READ_TIMEOUT_SECONDS} s reading {where}, "
            "after retries. Check --s3-endpoint and the network, or run again later."
        )
    if isinstance(
        exc,
        (
            bce.ConnectionClosedError,
            bce.ResponseStreamingError,
            bce.IncompleteReadError,
        ),
    ):
        return TransientSourceError(
            f"S3 at {_show_endpoint(endpoint)} dropped the connection reading {where}. Run again."
        )
    if isinstance(exc, bce.SSLError):  # https:// to a server that speaks http, or a bad certificate
        return ConfigError(
            f"Cannot read {where}: the TLS handshake with S3 at {_show_endpoint(endpoint)} failed. Check "
            "--s3-endpoint (http:// or https://, as the server speaks) and its certificate."
        )
    if isinstance(exc, bce.BotoCoreError):
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return SourceError(f"Cannot read {where}: {first}.")
    return None


def _show_endpoint(endpoint: str) -> str:
    """The endpoint's scheme, host and port: never any user:password part of the URL."""
    if not endpoint:
        return "its default endpoint"
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"
