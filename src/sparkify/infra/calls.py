"""AWS calls and their errors: the :class:`Aws` handle (boto3 imported when first used), and
:func:`call`, through which every botocore call goes, so that every botocore error becomes one
sparkify error with a one-line message (:func:`translate`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from sparkify.errors import ConfigError, ExitCode, SparkifyError, did_you_mean
from sparkify.wording import one_line as lines_as_one

RETRY_SECONDS = 10
"""Seconds between retries of a call that fails only until AWS catches up (IAM propagation, ENIs)."""

RETRIES = 6

# -- errors ---------------------------------------------------------------------------------------


class InfraError(SparkifyError, exit_code=ExitCode.REFUSED):
    """An AWS call failed, or AWS is in a state sparkify will not change."""


class TransientInfraError(InfraError, exit_code=ExitCode.TEMPFAIL):
    """AWS cannot do it *now* (unreachable, throttling, no capacity, a resource busy): retry later."""


class CredentialsError(ConfigError):
    """No AWS credentials were found, or AWS rejected them."""


class UnknownRegionError(ConfigError):
    """The region is missing or is not one where Redshift runs."""


class AccessDeniedError(InfraError):
    """The credentials work but lack a permission the step needs."""


class QuotaError(InfraError):
    """An AWS quota (number of clusters, nodes, roles, rules ...) is used up."""


class NotSparkifysError(InfraError):
    """A resource with sparkify's name exists but was not created by sparkify (it lacks :data:`TAG`)."""


# -- the handle -----------------------------------------------------------------------------------


class Aws:
    """A boto3 session pinned to one region, with the clients sparkify uses (created on first use)."""

    def __init__(self, session: Any, region: str):
        from botocore.config import Config

        self.session = session
        self.region = region
        self._config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="sparkify-infra",
        )

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, config=self._config)

    # one client per service, made on first use
    iam = cached_property(lambda self: self.client("iam"))
    ec2 = cached_property(lambda self: self.client("ec2"))
    redshift = cached_property(lambda self: self.client("redshift"))
    sts = cached_property(lambda self: self.client("sts"))

    @cached_property
    def partition(self) -> str:
        """``aws``, ``aws-cn`` or ``aws-us-gov``: the first field of every ARN in this region."""
        try:
            return self.session.get_partition_for_region(self.region)
        except Exception:
            if self.region.startswith("cn-"):
                return "aws-cn"
            return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"

    def identity(self) -> dict[str, str]:
        """Account and ARN of the caller. The first call: fails fast on missing or bad credentials."""
        got = call(self.sts, "get_caller_identity", f"your AWS identity in {self.region}")
        return {"account": got["Account"], "arn": got["Arn"]}


def connect(region: str | None = None, profile: str | None = None) -> Aws:
    """An :class:`Aws` handle for ``region`` (else the profile's or environment's region).

    Raises ConfigError when boto3 is missing or the profile is unknown, UnknownRegionError when no
    region is set or Redshift does not run there. Makes no network call.
    """
    try:
        import boto3
        import botocore.exceptions
    except ImportError as exc:
        raise ConfigError(
            "sparkify infra needs boto3, which is not installed. Run: pip install 'sparkify[aws]'"
        ) from exc
    named = profile or os.environ.get("AWS_PROFILE")
    unknown = ConfigError(
        f"AWS profile {named!r} not found in ~/.aws/config or ~/.aws/credentials. "
        "Run `aws configure --profile NAME`, or pass another --profile."
    )
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region or None)
    except botocore.exceptions.ProfileNotFound as exc:
        raise unknown from exc
    if named and named not in session.available_profiles:
        raise unknown  # boto3 would only notice at the first call
    chosen = region or session.region_name
    if not chosen:
        raise UnknownRegionError(
            "No AWS region set. Pass --region (e.g. us-west-2), set `region` in sparkify.toml, "
            "or set AWS_REGION."
        )
    check_region(session, chosen)
    return Aws(session, chosen)


def check_region(session: Any, region: str) -> None:
    """Raise UnknownRegionError unless botocore knows Redshift in ``region``, suggesting a close name."""
    known: set[str] = set()
    for partition in session.get_available_partitions():
        known.update(session.get_available_regions("redshift", partition_name=partition))
    if region in known:
        return
    hint = did_you_mean(region, sorted(known), aside=True)
    raise UnknownRegionError(
        f"Unknown AWS region {region!r}{hint}: Redshift does not run there as far as this botocore "
        "knows. Pass --region with a region such as us-west-2, or upgrade boto3 if the region is new."
    )


# -- one place for botocore errors ------------------------------------------------------------------

_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "InvalidAccessKeyId",
    "InvalidToken",
}
_PERMISSION_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "DependentServiceAccessDenied",
}
_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalFailure",
}
"""AWS answers that mean "not now", after botocore's own retries: a temporary failure (exit 75)."""
_QUOTA_CODES = {
    "LimitExceeded",
    "LimitExceededFault",
    "LimitExceededException",
    "ClusterQuotaExceeded",
    "NumberOfNodesQuotaExceeded",
    "NumberOfNodesPerClusterLimitExceeded",
    "ClusterSnapshotQuotaExceeded",
    "SecurityGroupLimitExceeded",
    "RulesPerSecurityGroupLimitExceeded",
    "TagLimitExceededFault",
}


def one_line(text: str) -> str:
    # EC2 appends an encoded authorization blob to UnauthorizedOperation; it helps nobody on a terminal.
    text = text.split("Encoded authorization failure message")[0]
    return lines_as_one(text).rstrip(" .")


def translate(
    exc: Exception, *, action: str, resource: str, region: str, redact: tuple[str, ...] = ()
) -> Exception:
    """The SparkifyError a botocore exception means for ``resource``; other exceptions are returned as is.

    ``action`` is the IAM action name (``redshift:CreateCluster``): it is what an administrator must
    grant. Any string in ``redact`` is masked out of the message.
    """
    try:
        import botocore.exceptions as bx
    except ImportError:  # pragma: no cover -- boto3 missing is reported by connect()
        return exc

    def clean(message: str) -> str:
        for secret in redact:
            if secret:
                message = message.replace(secret, "***")
        return message

    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return CredentialsError(
            f"No usable AWS credentials for {action} on {resource}. Run `aws configure` (or "
            "`aws sso login`), pass --profile or set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY."
        )
    if isinstance(exc, (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError)):
        return CredentialsError(
            f"Your AWS SSO session has expired ({action} on {resource}). Run `aws sso login`."
        )
    if isinstance(exc, bx.NoRegionError):
        return UnknownRegionError("No AWS region set. Pass --region (e.g. us-west-2) or set AWS_REGION.")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return TransientInfraError(
            f"Cannot reach AWS for {action} on {resource} in region {region}: {one_line(str(exc))}. "
            "Check your network or proxy, and that the region is right."
        )
    if isinstance(exc, bx.ParamValidationError):
        return InfraError(f"Invalid request for {action} on {resource}: {clean(one_line(str(exc)))}.")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = clean(one_line(error.get("Message", "") or str(exc)))
        if code in _CREDENTIAL_CODES:
            return CredentialsError(
                f"AWS rejected your credentials ({code}) for {action} on {resource}: {message}. Check "
                f"AWS_PROFILE or `aws configure`, refresh an expired session, and if {region} is an "
                "opt-in region, enable it for the account."
            )
        if code in _PERMISSION_CODES:
            return AccessDeniedError(
                f"Not allowed to {action} on {resource} ({code}): {message}. Ask your AWS administrator "
                f"to grant {action}, or use a profile that has it (--profile)."
            )
        if code in _QUOTA_CODES:
            return QuotaError(
                f"AWS quota reached for {resource} ({code}): {message}. Remove unused resources or "
                f"request a higher quota in the Service Quotas console for {region}."
            )
        if code in _THROTTLE_CODES:
            return TransientInfraError(
                f"AWS is throttling {action} on {resource} ({code}): {message}. Retry later."
            )
        if code == "InsufficientClusterCapacity":
            return TransientInfraError(
                f"Redshift has no capacity for {resource} in {region} right now: {message}. Retry later, "
                "or choose another --node-type or --region."
            )
        if code == "InvalidClusterState":
            return TransientInfraError(
                f"{resource} is busy ({message}). Wait until it is available (`sparkify infra status`) "
                "and run the command again."
            )
        if code == "DependencyViolation":
            return TransientInfraError(
                f"{resource} is still in use ({message}). Run the command again in a few minutes; if it "
                "persists, remove what uses it first."
            )
        return InfraError(f"{action} failed on {resource}: {code}: {message}.")
    if isinstance(exc, bx.BotoCoreError):
        return InfraError(f"{action} failed on {resource}: {clean(one_line(str(exc)))}.")
    return exc


def call(
    client: Any,
    method: str,
    resource: str,
    *,
    missing: tuple[str, ...] = (),
    retry_if: Callable[[str, str], bool] | None = None,
    redact: tuple[str, ...] = (),
    **params: Any,
) -> Any:
    """``client.method(**params)`` with every failure translated (see :func:`translate`).

    Returns None when the error code is in ``missing`` (e.g. ``NoSuchEntity``: the resource is not
    there). Retries up to :data:`RETRIES` times while ``retry_if(code, message)`` is true.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    operation = client.meta.method_to_api_mapping.get(method, method)
    action = f"{client.meta.service_model.endpoint_prefix}:{operation}"
    for attempt in range(RETRIES + 1):
        try:
            return getattr(client, method)(**params)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError):
                code = exc.response.get("Error", {}).get("Code", "")
                if code in missing:
                    return None
                message = exc.response.get("Error", {}).get("Message", "")
                if retry_if is not None and attempt < RETRIES and retry_if(code, message):
                    time.sleep(RETRY_SECONDS)
                    continue
            error = translate(
                exc, action=action, resource=resource, region=client.meta.region_name, redact=redact
            )
            # --debug prints the chained original: leave it out if it holds a secret.
            raise error from (None if any(r and r in str(exc) for r in redact) else exc)
    raise AssertionError("unreachable")  # pragma: no cover
