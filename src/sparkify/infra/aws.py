"""Idempotent provisioning of sparkify's Redshift side: an IAM role, a security group rule, a cluster.

Every ``ensure_*`` function creates what is missing and leaves what exists alone, so running it twice
changes nothing the second time; with ``dry_run=True`` it only says what it would do. Every
``teardown_*`` function removes only resources tagged ``managed-by = sparkify`` (:data:`TAG`) and
leaves anything else alone. All functions take an :class:`Aws` handle, print nothing, and raise
:class:`~sparkify.errors.SparkifyError` subclasses with one-line messages: every botocore error goes
through :func:`translate`.

boto3 is imported lazily (it is the optional ``aws`` extra); :func:`connect` says how to install it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import string
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sparkify.errors import ConfigError, ExitCode, SparkifyError, did_you_mean
from sparkify.files import write_atomically

# -- what sparkify builds -------------------------------------------------------------------------

TAG = {"Key": "managed-by", "Value": "sparkify"}
"""The tag on everything sparkify creates. ``teardown_*`` deletes only resources that carry it."""

DEFAULT_ROLE = "sparkify-redshift-s3-read"
DEFAULT_GROUP = "sparkify-redshift"
DEFAULT_CLUSTER = "sparkify"
DEFAULT_BUCKET = "udacity-dend"
DEFAULT_NODE_TYPE = "ra3.large"
DEFAULT_PORT = 5439
POLICY_NAME = "sparkify-s3-read"
"""Name of the inline policy on the role that grants read access to the source bucket(s)."""

PASSWORD_ENV = "SPARKIFY_REDSHIFT_PASSWORD"
"""Environment variable holding the cluster's master password; when unset, one is generated."""

POLL_SECONDS = 30
"""Seconds between two looks at a cluster that is being created or deleted."""

RETRY_SECONDS = 10
"""Seconds between retries of a call that fails only until AWS catches up (IAM propagation, ENIs)."""

RETRIES = 6

IP_LOOKUP_URL = "https://checkip.amazonaws.com"
"""Answers with the caller's public IPv4 address, one line of text."""

FAILED_STATES = {
    "hardware-failure",
    "incompatible-hsm",
    "incompatible-network",
    "incompatible-parameters",
    "incompatible-restore",
    "storage-full",
}
"""Cluster states that will not become ``available`` by waiting."""


# -- errors ---------------------------------------------------------------------------------------


class InfraError(SparkifyError):
    """An AWS call failed, or AWS is in a state sparkify will not change."""

    exit_code = ExitCode.REFUSED


class TransientInfraError(InfraError):
    """AWS cannot do it *now* (unreachable, throttling, no capacity, a resource busy): retry later."""

    exit_code = ExitCode.TEMPFAIL


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

    @cached_property
    def iam(self) -> Any:
        return self.client("iam")

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    @cached_property
    def redshift(self) -> Any:
        return self.client("redshift")

    @cached_property
    def sts(self) -> Any:
        return self.client("sts")

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


def _one_line(text: str) -> str:
    # EC2 appends an encoded authorization blob to UnauthorizedOperation; it helps nobody on a terminal.
    text = text.split("Encoded authorization failure message")[0]
    return " ".join(text.split()).rstrip(" .")


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
            f"Cannot reach AWS for {action} on {resource} in region {region}: {_one_line(str(exc))}. "
            "Check your network or proxy, and that the region is right."
        )
    if isinstance(exc, bx.ParamValidationError):
        return InfraError(f"Invalid request for {action} on {resource}: {clean(_one_line(str(exc)))}.")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = clean(_one_line(error.get("Message", "") or str(exc)))
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
        return InfraError(f"{action} failed on {resource}: {clean(_one_line(str(exc)))}.")
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


# -- the plan -------------------------------------------------------------------------------------

_CLUSTER_ID = re.compile(r"^(?!.*--)[a-z][a-z0-9-]{0,62}(?<!-)$")
_DB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_USER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Spec:
    """What ``sparkify infra up`` builds and ``down`` removes. Invalid values raise ConfigError."""

    cidr: str = ""
    """Who may connect to the cluster port (``1.2.3.4/32``). Required by ``up``; see :func:`normalize_cidr`."""
    role_name: str = DEFAULT_ROLE
    buckets: tuple[str, ...] = (DEFAULT_BUCKET,)
    """Buckets the role may read. Ignored when ``all_buckets``."""
    all_buckets: bool = False
    """Let the role read every bucket (``s3:GetObject`` on ``*``) instead of only ``buckets``."""
    security_group: str | None = None
    """An existing group (name or ``sg-`` id) to add the rule to; None: sparkify's own group."""
    cluster_id: str = DEFAULT_CLUSTER
    node_type: str = DEFAULT_NODE_TYPE
    nodes: int = 1
    db_name: str = "sparkify"
    master_user: str = "sparkify"
    port: int = DEFAULT_PORT
    public: bool = False
    """Give the cluster a public address. Off: reachable only from inside its VPC."""

    def __post_init__(self) -> None:
        checks = [
            (
                _CLUSTER_ID.match(self.cluster_id),
                "--cluster-id",
                self.cluster_id,
                "1-63 lowercase letters, digits and single hyphens, starting with a letter",
            ),
            (
                _DB_NAME.match(self.db_name),
                "--db-name",
                self.db_name,
                "1-64 lowercase letters, digits and underscores, starting with a letter",
            ),
            (
                _USER.match(self.master_user),
                "--master-user",
                self.master_user,
                "1-128 letters, digits and underscores, starting with a letter",
            ),
            (
                _ROLE_NAME.match(self.role_name),
                "--role-name",
                self.role_name,
                "1-64 letters, digits and +=,.@_-",
            ),
            (1 <= self.nodes <= 128, "--nodes", self.nodes, "a number of nodes from 1 to 128"),
            (1150 <= self.port <= 65535, "--port", self.port, "a port from 1150 to 65535"),
        ]
        checks += [(_BUCKET.match(b), "--bucket", b, "an S3 bucket name") for b in self.buckets]
        for ok, option, value, rule in checks:
            if not ok:
                raise ConfigError(f"Invalid {option} {value!r}: expected {rule}.")
        if not self.all_buckets and not self.buckets:
            raise ConfigError("No bucket to read: pass --bucket NAME (repeatable) or --all-buckets.")

    @property
    def group_name(self) -> str:
        return self.security_group or DEFAULT_GROUP

    @property
    def owns_group(self) -> bool:
        """True when the security group is sparkify's own (created and deleted by sparkify)."""
        return self.security_group is None

    @property
    def rule_name(self) -> str:
        return f"tcp {self.port} from {self.cidr}"

    @property
    def reads(self) -> str:
        """What the role may read, for people: ``s3://udacity-dend`` or ``every S3 bucket``."""
        return "every S3 bucket" if self.all_buckets else ", ".join(f"s3://{b}" for b in self.buckets)


@dataclass(frozen=True)
class Change:
    """One step of ``up`` or ``down``: what it did (or, in a dry run, would do) to one resource."""

    resource: str
    """``IAM role``, ``security group``, ``ingress rule`` or ``cluster``."""
    name: str
    action: str
    """``create``, ``update``, ``keep`` (exists, nothing to do), ``delete``, ``skip`` (not sparkify's:
    left alone) or ``absent`` (nothing to delete)."""
    detail: str = ""
    ref: str | None = None
    """The resource's id once known: role ARN, security group id, cluster endpoint."""

    @property
    def changes(self) -> bool:
        return self.action in ("create", "update", "delete")


@dataclass(frozen=True)
class Status:
    """One row of ``sparkify infra status``."""

    resource: str
    name: str
    state: str
    owner: str
    detail: str = ""
    ref: str | None = None
    """What people copy: the role's ARN, the cluster's ``host:port``."""


# -- policies -------------------------------------------------------------------------------------


def trust_policy() -> dict:
    """The role's trust policy: only Amazon Redshift may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "redshift.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def s3_read_policy(buckets: tuple[str, ...], *, all_buckets: bool = False, partition: str = "aws") -> dict:
    """Read-only access for COPY: list and locate the bucket(s), get their objects. Nothing else.

    See https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service.html
    """
    if all_buckets:
        bucket_arns: list[str] = ["*"]
        object_arns: list[str] = ["*"]
    else:
        bucket_arns = [f"arn:{partition}:s3:::{b}" for b in buckets]
        object_arns = [f"{arn}/*" for arn in bucket_arns]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSourceBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arns,
            },
            {
                "Sid": "ReadSourceObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": object_arns,
            },
        ],
    }


def _document(doc: Any) -> Any:
    """A policy document as a dict, whether boto3 decoded it or left it URL-encoded JSON."""
    if isinstance(doc, str):
        return json.loads(urllib.parse.unquote(doc))
    return doc


def _same_policy(a: Any, b: Any) -> bool:
    return json.dumps(_document(a), sort_keys=True) == json.dumps(_document(b), sort_keys=True)


def _is_sparkifys(tags: list[dict] | None) -> bool:
    return any(t.get("Key") == TAG["Key"] and t.get("Value") == TAG["Value"] for t in tags or [])


def _not_sparkifys(what: str, option: str) -> NotSparkifysError:
    return NotSparkifysError(
        f"{what} exists but was not created by sparkify (no tag {TAG['Key']}={TAG['Value']}), so sparkify "
        f"will not change it. Pass {option} to use another name."
    )


# -- the caller's address -------------------------------------------------------------------------


def normalize_cidr(text: str) -> str:
    """``1.2.3.4`` -> ``1.2.3.4/32``; a range keeps its prefix. Raises ConfigError when not an address."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError as exc:
        raise ConfigError(
            f"Invalid --cidr {text!r}: expected an address or range such as 203.0.113.7/32."
        ) from exc


def is_world(cidr: str) -> bool:
    """True for ``0.0.0.0/0`` and ``::/0``: every address on the internet."""
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def caller_cidr(fetch: Callable[[str, float], str] | None = None, timeout: float = 5.0) -> str:
    """The caller's public address as ``a.b.c.d/32``, asked of :data:`IP_LOOKUP_URL`.

    ``fetch(url, timeout)`` returns the response text (injectable for tests). Any failure is a
    ConfigError telling the user to pass --cidr.
    """

    def _urlopen(url: str, seconds: float) -> str:
        with urllib.request.urlopen(url, timeout=seconds) as response:
            return response.read(64).decode("ascii", "replace")

    try:
        text = (fetch or _urlopen)(IP_LOOKUP_URL, timeout).strip()
        address = ipaddress.ip_address(text)
    except (OSError, ValueError) as exc:
        reason = _one_line(str(exc)) or type(exc).__name__
        raise ConfigError(
            f"Could not find your public IP address ({IP_LOOKUP_URL}: {reason}). Pass --cidr with the "
            "address you connect from, e.g. --cidr 203.0.113.7/32."
        ) from exc
    return f"{address}/{address.max_prefixlen}"


# -- the password ---------------------------------------------------------------------------------

_PASSWORD_FORBIDDEN = set("'\"\\/@ ")


def password_problem(password: str) -> str | None:
    """Why Redshift would refuse ``password`` as a master password, or None. Never quotes it."""
    if not 8 <= len(password) <= 64:
        return "it must be 8 to 64 characters long"
    if not (
        any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    ):
        return "it needs an uppercase letter, a lowercase letter and a digit"
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        return "it may hold only printable ASCII other than ' \" \\ / @ and space"
    return None


def generate_password(length: int = 32) -> str:
    """A random password Redshift accepts: letters and digits, at least one of each kind."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(candidate) is None:
            return candidate


def default_password_file(cluster_id: str) -> Path:
    """``$XDG_CONFIG_HOME/sparkify/<cluster>.redshift-password`` (default ``~/.config``): outside any
    repository, so it is never committed by accident."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sparkify" / f"{cluster_id}.redshift-password"


@dataclass
class Password:
    """Where the master password comes from: :data:`PASSWORD_ENV`, else ``file``, else generated into
    ``file`` (mode 0600). Read or generated only when a cluster is created: :meth:`get`."""

    file: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _value: str | None = field(default=None, repr=False)

    @property
    def from_env(self) -> bool:
        return bool(self.env.get(PASSWORD_ENV))

    @property
    def source(self) -> str:
        """Where the password comes from, for people. Never the password."""
        if self.from_env:
            return f"from ${PASSWORD_ENV}"
        if self.file.is_file():
            return f"from {self.file}"
        return f"generated into {self.file} (mode 0600)"

    def get(self) -> str:
        """The password; generates and stores it (mode 0600) when neither the variable nor the file has one."""
        if self._value is None:
            self._value = self._resolve()
        return self._value

    def _resolve(self) -> str:
        if self.from_env:
            value, where = self.env[PASSWORD_ENV], f"${PASSWORD_ENV}"
        elif self.file.is_file():
            # Tighten a file someone loosened: it holds a database password.
            os.chmod(self.file, 0o600)
            value, where = self.file.read_text(encoding="utf-8").strip(), str(self.file)
        else:
            value, where = generate_password(), str(self.file)
            self._write(value)
        problem = password_problem(value)
        if problem:
            fix = (
                f"set a valid one, or unset {PASSWORD_ENV}"
                if self.from_env
                else "fix it, or delete the file to generate one"
            )
            raise ConfigError(
                f"The Redshift password in {where} is not valid: {problem}. {fix.capitalize()}."
            )
        return value

    def _write(self, value: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: never overwrite a password that may already belong to a cluster.
        fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (value + "\n").encode("ascii"))
        finally:
            os.close(fd)


# -- ensure_*: create what is missing ------------------------------------------------------------


def ensure_role(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Create the IAM role Redshift assumes to read the source bucket(s), or bring an existing
    sparkify role's trust and S3 policies in line with ``spec``. Safe to run twice.

    Raises NotSparkifysError when a role of that name exists without sparkify's tag.
    """
    iam, name = aws.iam, spec.role_name
    what = f"IAM role {name}"
    trust = trust_policy()
    access = s3_read_policy(spec.buckets, all_buckets=spec.all_buckets, partition=aws.partition)
    detail = f"assumable by redshift.amazonaws.com; reads {spec.reads}"
    found = call(iam, "get_role", what, missing=("NoSuchEntity",), RoleName=name)
    if found is None:
        arn = None
        if not dry_run:
            created = call(
                iam,
                "create_role",
                what,
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description="Lets Amazon Redshift read sparkify's source data from S3. Managed by sparkify.",
                Tags=[TAG],
            )
            arn = created["Role"]["Arn"]
            call(
                iam,
                "put_role_policy",
                what,
                RoleName=name,
                PolicyName=POLICY_NAME,
                PolicyDocument=json.dumps(access),
            )
        return Change("IAM role", name, "create", detail, ref=arn)
    role = found["Role"]
    tags = call(iam, "list_role_tags", what, RoleName=name)["Tags"]
    if not _is_sparkifys(tags):
        raise _not_sparkifys(what, "--role-name")
    updated = []
    if not _same_policy(role["AssumeRolePolicyDocument"], trust):
        updated.append("trust policy")
        if not dry_run:
            call(iam, "update_assume_role_policy", what, RoleName=name, PolicyDocument=json.dumps(trust))
    current = call(
        iam, "get_role_policy", what, missing=("NoSuchEntity",), RoleName=name, PolicyName=POLICY_NAME
    )
    if current is None or not _same_policy(current["PolicyDocument"], access):
        updated.append(f"S3 policy ({spec.reads})")
        if not dry_run:
            call(
                iam,
                "put_role_policy",
                what,
                RoleName=name,
                PolicyName=POLICY_NAME,
                PolicyDocument=json.dumps(access),
            )
    if updated:
        return Change("IAM role", name, "update", "set " + " and ".join(updated), ref=role["Arn"])
    return Change("IAM role", name, "keep", detail, ref=role["Arn"])


def default_vpc(aws: Aws) -> str | None:
    """The id of the region's default VPC, where sparkify launches the cluster; None when there is none."""
    found = call(
        aws.ec2,
        "describe_vpcs",
        f"the default VPC of {aws.region}",
        Filters=[{"Name": "is-default", "Values": ["true"]}],
    )
    vpcs = found.get("Vpcs", [])
    return vpcs[0]["VpcId"] if vpcs else None


def _require_default_vpc(aws: Aws) -> str:
    vpc = default_vpc(aws)
    if vpc is None:
        raise InfraError(
            f"Region {aws.region} has no default VPC, where sparkify launches the cluster. Create one with "
            f"`aws ec2 create-default-vpc --region {aws.region}`, or use another --region."
        )
    return vpc


def find_group(aws: Aws, spec: Spec, vpc: str | None) -> dict | None:
    """The security group ``spec`` names (an ``sg-`` id anywhere, else a name in ``vpc``), or None."""
    what = f"security group {spec.group_name}"
    if spec.group_name.startswith("sg-"):
        found = call(
            aws.ec2,
            "describe_security_groups",
            what,
            missing=("InvalidGroup.NotFound",),
            GroupIds=[spec.group_name],
        )
    elif vpc is None:
        return None
    else:
        found = call(
            aws.ec2,
            "describe_security_groups",
            what,
            Filters=[
                {"Name": "group-name", "Values": [spec.group_name]},
                {"Name": "vpc-id", "Values": [vpc]},
            ],
        )
    groups = (found or {}).get("SecurityGroups", [])
    return groups[0] if groups else None


def ensure_security_group(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Create sparkify's security group in the default VPC, or find the one ``--security-group`` names.

    The change's ``ref`` is the group id (None in a dry run that would create it). Raises
    NotSparkifysError when sparkify's group name is taken by a group without sparkify's tag, and
    InfraError when a named group does not exist. Safe to run twice.
    """
    vpc = _require_default_vpc(aws)
    group = find_group(aws, spec, vpc)
    what = f"security group {spec.group_name}"
    if not spec.owns_group:
        if group is None:
            raise InfraError(
                f"Security group {spec.group_name} not found in {aws.region} (default VPC {vpc}). Check the "
                "name or id, or drop --security-group to let sparkify create its own."
            )
        return Change(
            "security group",
            f"{group['GroupName']} ({group['GroupId']})",
            "keep",
            "yours: sparkify only adds its rule",
            ref=group["GroupId"],
        )
    if group is not None:
        if not _is_sparkifys(group.get("Tags")):
            raise _not_sparkifys(what, "--security-group")
        return Change(
            "security group",
            f"{group['GroupName']} ({group['GroupId']})",
            "keep",
            f"in default VPC {vpc}",
            ref=group["GroupId"],
        )
    group_id = None
    if not dry_run:
        created = call(
            aws.ec2,
            "create_security_group",
            what,
            GroupName=spec.group_name,
            Description="Who may connect to sparkify's Redshift cluster. Managed by sparkify.",
            VpcId=vpc,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [TAG, {"Key": "Name", "Value": spec.group_name}]}
            ],
        )
        group_id = created["GroupId"]
    return Change("security group", spec.group_name, "create", f"in default VPC {vpc}", ref=group_id)


def _ingress_rules(aws: Aws, group_id: str, port: int) -> list[dict]:
    found = call(
        aws.ec2,
        "describe_security_group_rules",
        f"the rules of security group {group_id}",
        Filters=[{"Name": "group-id", "Values": [group_id]}],
    )
    return [
        r
        for r in found.get("SecurityGroupRules", [])
        if not r.get("IsEgress")
        and r.get("IpProtocol") == "tcp"
        and r.get("FromPort") == port
        and r.get("ToPort") == port
    ]


def _rule_cidr(rule: dict) -> str:
    return (
        rule.get("CidrIpv4")
        or rule.get("CidrIpv6")
        or rule.get("ReferencedGroupInfo", {}).get("GroupId", "?")
    )


def ensure_ingress(aws: Aws, spec: Spec, group_id: str | None, *, dry_run: bool = False) -> Change:
    """Open the cluster port to ``spec.cidr`` in the group, with a rule tagged as sparkify's.

    A rule for the same port and range that already exists (sparkify's or not) is kept. Safe to run twice.
    """
    if not spec.cidr:
        raise ConfigError("No --cidr: say who may connect to the cluster, e.g. --cidr 203.0.113.7/32.")
    if group_id is not None:
        for rule in _ingress_rules(aws, group_id, spec.port):
            if _rule_cidr(rule) == spec.cidr:
                owner = "" if _is_sparkifys(rule.get("Tags")) else "; not sparkify's, down leaves it"
                return Change(
                    "ingress rule",
                    spec.rule_name,
                    "keep",
                    f"on {group_id}{owner}",
                    ref=rule["SecurityGroupRuleId"],
                )
    detail = f"on {group_id or spec.group_name}" + ("; the whole internet" if is_world(spec.cidr) else "")
    rule_id = None
    if not dry_run:
        assert group_id is not None
        family = "Ipv6Ranges" if ":" in spec.cidr else "IpRanges"
        key = "CidrIpv6" if ":" in spec.cidr else "CidrIp"
        added = call(
            aws.ec2,
            "authorize_security_group_ingress",
            f"security group {group_id}",
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": spec.port,
                    "ToPort": spec.port,
                    family: [{key: spec.cidr, "Description": "Redshift access, managed by sparkify"}],
                }
            ],
            TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [TAG]}],
        )
        rules = added.get("SecurityGroupRules") or [{}]
        rule_id = rules[0].get("SecurityGroupRuleId")
    return Change("ingress rule", spec.rule_name, "create", detail, ref=rule_id)


def describe_cluster(aws: Aws, cluster_id: str) -> dict | None:
    """The cluster's description (as DescribeClusters gives it), or None when there is no such cluster."""
    found = call(
        aws.redshift,
        "describe_clusters",
        f"Redshift cluster {cluster_id}",
        missing=("ClusterNotFound",),
        ClusterIdentifier=cluster_id,
    )
    clusters = (found or {}).get("Clusters", [])
    return clusters[0] if clusters else None


def _iam_role_not_ready(code: str, message: str) -> bool:
    # A role created seconds ago may not be visible to Redshift yet (IAM is eventually consistent).
    return code == "InvalidParameterValue" and "role" in message.lower()


def ensure_cluster(
    aws: Aws,
    spec: Spec,
    *,
    role_arn: str | None,
    group_id: str | None,
    password: Callable[[], str],
    dry_run: bool = False,
) -> Change:
    """Create the encrypted, tagged Redshift cluster (not public unless ``spec.public``), or make sure an
    existing sparkify cluster has the role and security group attached. Does not wait (see
    :func:`wait_for_cluster`) and never resizes an existing cluster. Safe to run twice.

    ``password()`` is called only when the cluster is created. Raises NotSparkifysError when a
    cluster of that name exists without sparkify's tag.
    """
    rs, cid = aws.redshift, spec.cluster_id
    what = f"Redshift cluster {cid}"
    cluster = describe_cluster(aws, cid)
    shape = f"{spec.node_type} x{spec.nodes}"
    if cluster is None:
        detail = (
            f"{shape}, database {spec.db_name}, user {spec.master_user}, port {spec.port}, encrypted, "
            + ("public" if spec.public else "private")
        )
        if not dry_run:
            assert role_arn is not None and group_id is not None
            secret = password()
            params: dict[str, Any] = {
                "ClusterIdentifier": cid,
                "NodeType": spec.node_type,
                "ClusterType": "single-node" if spec.nodes == 1 else "multi-node",
                "DBName": spec.db_name,
                "MasterUsername": spec.master_user,
                "MasterUserPassword": secret,
                "Port": spec.port,
                "IamRoles": [role_arn],
                "VpcSecurityGroupIds": [group_id],
                "PubliclyAccessible": spec.public,
                "Encrypted": True,
                "Tags": [TAG],
            }
            if spec.nodes > 1:
                params["NumberOfNodes"] = spec.nodes
            call(rs, "create_cluster", what, retry_if=_iam_role_not_ready, redact=(secret,), **params)
        return Change("cluster", cid, "create", detail)
    if not _is_sparkifys(cluster.get("Tags")):
        raise _not_sparkifys(what, "--cluster-id")
    state = cluster.get("ClusterStatus", "?")
    if state in ("deleting", "final-snapshot"):
        raise InfraError(
            f"{what} is being deleted. Wait until `sparkify infra status` no longer shows it, then run "
            "`sparkify infra up` again."
        )
    updated = []
    attached_roles = [r.get("IamRoleArn") for r in cluster.get("IamRoles", [])]
    if role_arn is None or role_arn not in attached_roles:
        updated.append(f"attach role {spec.role_name}")
        if not dry_run:
            call(rs, "modify_cluster_iam_roles", what, ClusterIdentifier=cid, AddIamRoles=[role_arn])
    groups = [g.get("VpcSecurityGroupId") for g in cluster.get("VpcSecurityGroups", [])]
    if group_id is None or group_id not in groups:
        updated.append(f"add security group {spec.group_name}")
        if not dry_run:
            call(rs, "modify_cluster", what, ClusterIdentifier=cid, VpcSecurityGroupIds=[*groups, group_id])
    differs = [
        f"{label} {have} (asked {want})"
        for label, have, want in (
            ("node type", cluster.get("NodeType"), spec.node_type),
            ("nodes", cluster.get("NumberOfNodes"), spec.nodes),
            ("public", cluster.get("PubliclyAccessible"), spec.public),
            ("port", (cluster.get("Endpoint") or {}).get("Port"), spec.port),
        )
        if have is not None and have != want
    ]
    note = "; differs from the options, left as is: " + ", ".join(differs) if differs else ""
    if updated:
        detail = "; ".join(updated) + f" (now {state})" + note
        return Change("cluster", cid, "update", detail, ref=endpoint_of(cluster))
    detail = f"{state}, {cluster.get('NodeType')} x{cluster.get('NumberOfNodes')}" + note
    return Change("cluster", cid, "keep", detail, ref=endpoint_of(cluster))


def endpoint_of(cluster: dict) -> str | None:
    """``host:port`` of a described cluster, or None before it has an address."""
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        return None
    return f"{endpoint['Address']}:{endpoint.get('Port', DEFAULT_PORT)}"


def up(aws: Aws, spec: Spec, *, password: Callable[[], str], dry_run: bool = False) -> list[Change]:
    """Ensure the role, security group, ingress rule and cluster, in that order; return the four changes.

    With ``dry_run`` nothing is changed and the changes say what would be done. Does not wait for the
    cluster: see :func:`wait_for_cluster`.
    """
    role = ensure_role(aws, spec, dry_run=dry_run)
    group = ensure_security_group(aws, spec, dry_run=dry_run)
    rule = ensure_ingress(aws, spec, group.ref, dry_run=dry_run)
    cluster = ensure_cluster(
        aws, spec, role_arn=role.ref, group_id=group.ref, password=password, dry_run=dry_run
    )
    return [role, group, rule, cluster]


# -- waiting --------------------------------------------------------------------------------------


def wait_for_cluster(
    aws: Aws,
    cluster_id: str,
    *,
    deleted: bool = False,
    timeout: float = 30 * 60,
    delay: float | None = None,
    on_poll: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict | None:
    """Wait until the cluster is available (or, with ``deleted``, gone); return its description
    (None when deleted).

    Uses boto3's ``cluster_available`` / ``cluster_deleted`` waiters one attempt at a time, so
    ``on_poll(state, seconds_elapsed)`` can report progress between attempts. Raises InfraError when
    the waiter reaches a failure state, the cluster enters a state waiting cannot fix, or ``timeout``
    seconds pass; the cluster itself is left as it is. Ctrl-C (KeyboardInterrupt) propagates: stopping
    the wait changes nothing in AWS.
    """
    from botocore.exceptions import WaiterError

    delay = POLL_SECONDS if delay is None else delay
    waiter = aws.redshift.get_waiter("cluster_deleted" if deleted else "cluster_available")
    goal = "deleted" if deleted else "available"
    what = f"Redshift cluster {cluster_id}"
    started = clock()
    while True:
        try:
            waiter.wait(ClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            return None if deleted else describe_cluster(aws, cluster_id)
        except WaiterError as exc:
            response = exc.last_response or {}
            error = response.get("Error") or {}
            clusters = response.get("Clusters") or [{}]
            state = clusters[0].get(
                "ClusterStatus", "not there yet" if error.get("Code") == "ClusterNotFound" else "?"
            )
            if error and error.get("Code") != "ClusterNotFound":
                from botocore.exceptions import ClientError

                raise translate(
                    ClientError(response, "DescribeClusters"),
                    action="redshift:DescribeClusters",
                    resource=what,
                    region=aws.region,
                ) from exc
            if state == "paused" and not deleted:
                raise InfraError(
                    f"{what} is paused. Resume it (aws redshift resume-cluster --cluster-identifier {cluster_id} "
                    f"--region {aws.region}) and run `sparkify infra up` again."
                ) from exc
            if "terminal failure" in str(exc) or state in FAILED_STATES:
                raise InfraError(
                    f"{what} is {state!r} and will not become {goal} by waiting. See it in the Redshift "
                    f"console for {aws.region}; `sparkify infra down` removes it."
                ) from exc
        elapsed = clock() - started
        if on_poll is not None:
            on_poll(state, elapsed)
        if elapsed + delay > timeout:
            again = "sparkify infra down" if deleted else "sparkify infra up"
            raise InfraError(
                f"{what} is still {state!r} after {elapsed / 60:.0f} min (--timeout). AWS carries on: run "
                f"`{again}` again to keep waiting, or `sparkify infra status` to look."
            )
        sleep(delay)


# -- teardown_*: remove what sparkify made --------------------------------------------------------


def teardown_cluster(
    aws: Aws, spec: Spec, *, final_snapshot: bool = True, dry_run: bool = False, now: datetime | None = None
) -> Change:
    """Delete sparkify's cluster, after a final snapshot unless ``final_snapshot`` is False. Does not
    wait (see :func:`wait_for_cluster` with ``deleted=True``). A cluster without sparkify's tag is
    left alone (action ``skip``). Safe to run twice.
    """
    cid = spec.cluster_id
    cluster = describe_cluster(aws, cid)
    if cluster is None:
        return Change("cluster", cid, "absent")
    if not _is_sparkifys(cluster.get("Tags")):
        return Change(
            "cluster", cid, "skip", f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone"
        )
    if cluster.get("ClusterStatus") in ("deleting", "final-snapshot"):
        return Change("cluster", cid, "delete", "already being deleted")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    snapshot = f"{cid}-final-{stamp}"
    detail = f"final snapshot {snapshot}" if final_snapshot else "no final snapshot: its data is lost"
    if not dry_run:
        params: dict[str, Any] = {"ClusterIdentifier": cid, "SkipFinalClusterSnapshot": not final_snapshot}
        if final_snapshot:
            params["FinalClusterSnapshotIdentifier"] = snapshot
        call(aws.redshift, "delete_cluster", f"Redshift cluster {cid}", **params)
    return Change("cluster", cid, "delete", detail, ref=snapshot if final_snapshot else None)


def teardown_ingress(aws: Aws, spec: Spec, *, dry_run: bool = False) -> list[Change]:
    """Revoke sparkify's rules (those tagged as sparkify's) on the cluster port, then delete the
    security group if it is sparkify's own. Rules and groups without the tag are left alone. Run it
    after the cluster is gone: a group in use cannot be deleted. Safe to run twice.
    """
    vpc = default_vpc(aws) if not spec.group_name.startswith("sg-") else None
    group = find_group(aws, spec, vpc)
    if group is None:
        return [Change("security group", spec.group_name, "absent")]
    gid = group["GroupId"]
    label = f"{group['GroupName']} ({gid})"
    changes = []
    ours = []
    for rule in _ingress_rules(aws, gid, spec.port):
        name = f"tcp {spec.port} from {_rule_cidr(rule)}"
        if _is_sparkifys(rule.get("Tags")):
            ours.append(rule["SecurityGroupRuleId"])
            changes.append(Change("ingress rule", name, "delete", f"on {gid}"))
        else:
            changes.append(Change("ingress rule", name, "skip", f"on {gid}; not sparkify's: left alone"))
    if ours and not dry_run:
        call(
            aws.ec2,
            "revoke_security_group_ingress",
            f"security group {label}",
            GroupId=gid,
            SecurityGroupRuleIds=ours,
        )
    if not spec.owns_group:
        changes.append(Change("security group", label, "skip", "yours: only sparkify's rules are removed"))
    elif not _is_sparkifys(group.get("Tags")):
        changes.append(
            Change(
                "security group",
                label,
                "skip",
                f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone",
            )
        )
    else:
        if not dry_run:
            # The cluster's network interfaces can outlive it by a minute or two.
            call(
                aws.ec2,
                "delete_security_group",
                f"security group {label}",
                GroupId=gid,
                retry_if=lambda code, _: code == "DependencyViolation",
            )
        changes.append(Change("security group", label, "delete"))
    return changes


def teardown_role(aws: Aws, spec: Spec, *, dry_run: bool = False) -> Change:
    """Delete sparkify's IAM role with its inline and attached policies. A role without sparkify's
    tag is left alone (action ``skip``). Safe to run twice."""
    iam, name = aws.iam, spec.role_name
    what = f"IAM role {name}"
    found = call(iam, "get_role", what, missing=("NoSuchEntity",), RoleName=name)
    if found is None:
        return Change("IAM role", name, "absent")
    tags = call(iam, "list_role_tags", what, RoleName=name)["Tags"]
    if not _is_sparkifys(tags):
        return Change(
            "IAM role", name, "skip", f"not sparkify's (no tag {TAG['Key']}={TAG['Value']}): left alone"
        )
    if not dry_run:
        for policy in call(iam, "list_role_policies", what, RoleName=name)["PolicyNames"]:
            call(iam, "delete_role_policy", what, RoleName=name, PolicyName=policy)
        for policy in call(iam, "list_attached_role_policies", what, RoleName=name)["AttachedPolicies"]:
            call(iam, "detach_role_policy", what, RoleName=name, PolicyArn=policy["PolicyArn"])
        for profile in call(iam, "list_instance_profiles_for_role", what, RoleName=name)["InstanceProfiles"]:
            call(
                iam,
                "remove_role_from_instance_profile",
                what,
                RoleName=name,
                InstanceProfileName=profile["InstanceProfileName"],
            )
        call(iam, "delete_role", what, RoleName=name)
    return Change("IAM role", name, "delete", found["Role"]["Arn"], ref=found["Role"]["Arn"])


# -- status ---------------------------------------------------------------------------------------


def _owner(tags: list[dict] | None) -> str:
    return "sparkify" if _is_sparkifys(tags) else "not sparkify"


def status(aws: Aws, spec: Spec) -> list[Status]:
    """What exists of the role, security group, ingress rules and cluster ``spec`` names. Changes nothing."""
    rows = []
    found = call(
        aws.iam, "get_role", f"IAM role {spec.role_name}", missing=("NoSuchEntity",), RoleName=spec.role_name
    )
    if found is None:
        rows.append(Status("IAM role", spec.role_name, "absent", ""))
    else:
        tags = call(aws.iam, "list_role_tags", f"IAM role {spec.role_name}", RoleName=spec.role_name)["Tags"]
        policy = call(
            aws.iam,
            "get_role_policy",
            f"IAM role {spec.role_name}",
            missing=("NoSuchEntity",),
            RoleName=spec.role_name,
            PolicyName=POLICY_NAME,
        )
        reads = _policy_reads(policy["PolicyDocument"]) if policy else "no sparkify S3 policy"
        rows.append(
            Status(
                "IAM role",
                spec.role_name,
                "present",
                _owner(tags),
                f"reads {reads}",
                ref=found["Role"]["Arn"],
            )
        )
    vpc = default_vpc(aws) if not spec.group_name.startswith("sg-") else None
    group = find_group(aws, spec, vpc)
    if group is None:
        rows.append(Status("security group", spec.group_name, "absent", ""))
    else:
        gid = group["GroupId"]
        rows.append(
            Status(
                "security group",
                f"{group['GroupName']} ({gid})",
                "present",
                _owner(group.get("Tags")),
                f"VPC {group.get('VpcId', '?')}",
            )
        )
        rules = _ingress_rules(aws, gid, spec.port)
        for rule in rules:
            rows.append(
                Status(
                    "ingress rule",
                    f"tcp {spec.port} from {_rule_cidr(rule)}",
                    "open",
                    _owner(rule.get("Tags")),
                    f"on {gid}",
                )
            )
        if not rules:
            rows.append(Status("ingress rule", f"tcp {spec.port}", "absent", "", f"nothing open on {gid}"))
    cluster = describe_cluster(aws, spec.cluster_id)
    if cluster is None:
        rows.append(Status("cluster", spec.cluster_id, "absent", ""))
    else:
        parts = [
            f"database {cluster.get('DBName')}, user {cluster.get('MasterUsername')}",
            f"{cluster.get('NodeType')} x{cluster.get('NumberOfNodes')}",
            "encrypted" if cluster.get("Encrypted") else "NOT encrypted",
            "public" if cluster.get("PubliclyAccessible") else "private",
        ]
        rows.append(
            Status(
                "cluster",
                spec.cluster_id,
                cluster.get("ClusterStatus", "?"),
                _owner(cluster.get("Tags")),
                "; ".join(parts),
                ref=endpoint_of(cluster),
            )
        )
    return rows


def _policy_reads(document: Any) -> str:
    resources: list[str] = []
    for statement in _document(document).get("Statement", []):
        if "s3:GetObject" in statement.get("Action", []):
            value = statement.get("Resource", [])
            resources += [value] if isinstance(value, str) else value
    if "*" in resources:
        return "every S3 bucket"
    buckets = [r.split(":::", 1)[-1].removesuffix("/*") for r in resources]
    return ", ".join(f"s3://{b}" for b in buckets) or "nothing"


# -- sparkify.toml --------------------------------------------------------------------------------


def warehouse_url(cluster: dict) -> str:
    """``redshift://USER@HOST:PORT/DB`` for a described cluster. Never holds a password."""
    endpoint = cluster.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise InfraError(f"Redshift cluster {cluster.get('ClusterIdentifier')} has no endpoint yet.")
    user = urllib.parse.quote(cluster["MasterUsername"], safe="")
    db = urllib.parse.quote(cluster.get("DBName") or "dev", safe="")
    return f"redshift://{user}@{endpoint['Address']}:{endpoint.get('Port', DEFAULT_PORT)}/{db}"


def settings_for(aws: Aws, cluster: dict, role_arn: str) -> dict[str, str]:
    """The sparkify.toml keys that let ``sparkify run`` use the cluster with nothing more."""
    return {"warehouse": warehouse_url(cluster), "iam_role": role_arn, "region": aws.region}


_TABLE_HEADER = re.compile(r"^\s*\[")


def update_settings_file(path: Path, values: dict[str, str], *, dry_run: bool = False) -> list[str]:
    """Set top-level keys of a TOML file (created if missing), keeping every other key, comment and
    line as it is; return the keys whose value changed (none: the file is not touched).

    The new text is parsed back before it replaces the file (atomically); if it does not read as the
    old settings plus ``values``, nothing is written and ConfigError says which keys to set by hand.
    """
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        current = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc
    changed = [k for k, v in values.items() if current.get(k) != v]
    if not changed or dry_run:
        return changed
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = next((i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)), len(lines))
    for key in changed:
        # json.dumps gives a TOML basic string: the same quoting and escapes.
        new_line = f"{key} = {json.dumps(values[key], ensure_ascii=False)}\n"
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        index = next((i for i in range(top) if pattern.match(lines[i])), None)
        if index is None:
            lines.insert(top, new_line)
            top += 1
        else:
            lines[index] = new_line
    new_text = "".join(lines)
    try:
        ok = tomllib.loads(new_text) == {**current, **values}
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        wanted = ", ".join(f"{k} = {json.dumps(values[k])}" for k in changed)
        raise ConfigError(
            f"Could not update {path} safely (unusual layout). Set these keys by hand: {wanted}"
        )
    write_atomically(path, new_text)
    return changed
