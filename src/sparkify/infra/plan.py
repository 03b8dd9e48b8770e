"""What sparkify builds on AWS: the names and defaults (:class:`Spec`), the tag that marks it
sparkify's (:data:`TAG`), and what a step did (:class:`Change`) or found (:class:`Status`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sparkify.errors import ConfigError
from sparkify.infra.calls import NotSparkifysError

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


# -- ownership ------------------------------------------------------------------------------------


def is_sparkifys(tags: list[dict] | None) -> bool:
    return any(t.get("Key") == TAG["Key"] and t.get("Value") == TAG["Value"] for t in tags or [])


def not_sparkifys(what: str, option: str) -> NotSparkifysError:
    return NotSparkifysError(
        f"{what} exists but was not created by sparkify (no tag {TAG['Key']}={TAG['Value']}), so sparkify "
        f"will not change it. Pass {option} to use another name."
    )
