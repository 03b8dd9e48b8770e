"""sparkify's AWS library in one namespace: every public name of the ``infra`` modules.

Idempotent provisioning of sparkify's Redshift side: an IAM role, a security group rule, a cluster.
Every ``ensure_*`` function creates what is missing and leaves what exists alone, so running it twice
changes nothing the second time; with ``dry_run=True`` it only says what it would do. Every
``teardown_*`` function removes only resources tagged ``managed-by = sparkify`` (``TAG``) and leaves
anything else alone. All functions take an :class:`Aws` handle, print nothing, and raise
:class:`~sparkify.errors.SparkifyError` subclasses with one-line messages: every botocore error goes
through :func:`~sparkify.infra.calls.translate`.

Where each part lives: :mod:`~sparkify.infra.calls` (the handle, calls and their errors),
:mod:`~sparkify.infra.plan` (names, defaults, the tag, Spec/Change/Status),
:mod:`~sparkify.infra.iam`, :mod:`~sparkify.infra.network`, :mod:`~sparkify.infra.cluster`,
:mod:`~sparkify.infra.password`, :mod:`~sparkify.infra.stack` (up, status, settings_for); writing
sparkify.toml is :func:`sparkify.config.update_settings_file`. Tunables (``RETRY_SECONDS``,
``POLL_SECONDS``) are read from their own module: set them there.

boto3 is imported lazily (it is the optional ``aws`` extra); :func:`connect` says how to install it.
"""

from sparkify.config import update_settings_file
from sparkify.infra.calls import (
    RETRIES,
    RETRY_SECONDS,
    AccessDeniedError,
    Aws,
    CredentialsError,
    InfraError,
    NotSparkifysError,
    QuotaError,
    TransientInfraError,
    UnknownRegionError,
    call,
    check_region,
    connect,
    one_line,
    translate,
)
from sparkify.infra.cluster import (
    FAILED_STATES,
    POLL_SECONDS,
    describe_cluster,
    endpoint_of,
    ensure_cluster,
    teardown_cluster,
    wait_for_cluster,
    warehouse_url,
)
from sparkify.infra.iam import (
    ensure_role,
    policy_reads,
    s3_read_policy,
    teardown_role,
    trust_policy,
)
from sparkify.infra.network import (
    IP_LOOKUP_URL,
    caller_cidr,
    default_vpc,
    ensure_ingress,
    ensure_security_group,
    find_group,
    ingress_rules,
    is_world,
    normalize_cidr,
    rule_cidr,
    teardown_ingress,
)
from sparkify.infra.password import (
    PASSWORD_ENV,
    Password,
    default_password_file,
    generate_password,
    password_problem,
)
from sparkify.infra.plan import (
    DEFAULT_BUCKET,
    DEFAULT_CLUSTER,
    DEFAULT_GROUP,
    DEFAULT_NODE_TYPE,
    DEFAULT_PORT,
    DEFAULT_ROLE,
    POLICY_NAME,
    TAG,
    Change,
    Spec,
    Status,
    is_sparkifys,
    not_sparkifys,
)
from sparkify.infra.stack import (
    settings_for,
    status,
    up,
)

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_CLUSTER",
    "DEFAULT_GROUP",
    "DEFAULT_NODE_TYPE",
    "DEFAULT_PORT",
    "DEFAULT_ROLE",
    "FAILED_STATES",
    "IP_LOOKUP_URL",
    "PASSWORD_ENV",
    "POLICY_NAME",
    "POLL_SECONDS",
    "RETRIES",
    "RETRY_SECONDS",
    "TAG",
    "AccessDeniedError",
    "Aws",
    "Change",
    "CredentialsError",
    "InfraError",
    "NotSparkifysError",
    "Password",
    "QuotaError",
    "Spec",
    "Status",
    "TransientInfraError",
    "UnknownRegionError",
    "call",
    "caller_cidr",
    "check_region",
    "connect",
    "default_password_file",
    "default_vpc",
    "describe_cluster",
    "endpoint_of",
    "ensure_cluster",
    "ensure_ingress",
    "ensure_role",
    "ensure_security_group",
    "find_group",
    "generate_password",
    "ingress_rules",
    "is_sparkifys",
    "is_world",
    "normalize_cidr",
    "not_sparkifys",
    "one_line",
    "password_problem",
    "policy_reads",
    "rule_cidr",
    "s3_read_policy",
    "settings_for",
    "status",
    "teardown_cluster",
    "teardown_ingress",
    "teardown_role",
    "translate",
    "trust_policy",
    "up",
    "update_settings_file",
    "wait_for_cluster",
    "warehouse_url",
]
