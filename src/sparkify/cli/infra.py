"""``sparkify infra up / status / down``: parse options, call :mod:`sparkify.infra.aws`, print
(:mod:`sparkify.cli.infra_output`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import click

from sparkify.cli import infra_output as show
from sparkify.cli import options
from sparkify.cli.app import cli, state
from sparkify.console import make_console
from sparkify.infra import aws as lib

# -- options --------------------------------------------------------------------------------------


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        setattr(state(), param.name, True)


def timeout_option(text: str) -> Callable[[Callable], Callable]:
    """--timeout MINUTES (default 30): how long to wait for the cluster; ``text`` says for what."""
    return click.option(
        "--timeout", type=click.FloatRange(min=1), default=30, show_default=True, metavar="MINUTES", help=text
    )


def aws_options(f: Callable) -> Callable:
    """Options naming the account, region and resources; shared by up, status and down."""
    options = [
        click.option(
            "--region",
            metavar="NAME",
            help="AWS region, e.g. us-west-2. Default: SPARKIFY_REGION, `region` in sparkify.toml, "
            "then AWS_REGION or the profile's region.",
        ),
        click.option(
            "--profile", metavar="NAME", help="AWS profile from ~/.aws/config. Default: AWS_PROFILE."
        ),
        *(
            click.option(flag, default=default, show_default=True, metavar=metavar, help=text)
            for flag, default, metavar, text in (
                ("--cluster-id", lib.DEFAULT_CLUSTER, "ID", "Redshift cluster identifier."),
                ("--role-name", lib.DEFAULT_ROLE, "NAME", "IAM role Redshift assumes to read S3."),
            )
        ),
        click.option(
            "--security-group",
            metavar="NAME|ID",
            help=f"Add the ingress rule to this existing group (default VPC) instead of sparkify's "
            f"own group {lib.DEFAULT_GROUP!r}.",
        ),
        click.option("--port", type=int, default=lib.DEFAULT_PORT, show_default=True, help="Cluster port."),
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            expose_value=False,
            callback=_set_flag,
            help="Print nothing but errors and the final result.",
        ),
        click.option(
            "--debug", is_flag=True, expose_value=False, callback=_set_flag, help="Show tracebacks on errors."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _connect(region: str | None, profile: str | None) -> tuple[lib.Aws, dict[str, str]]:
    from sparkify.config import load_settings

    settings = load_settings({"region": region})
    handle = lib.connect(region=settings.region, profile=profile)
    return handle, handle.identity()


# -- the group ------------------------------------------------------------------------------------


@click.group("infra")
def infra() -> None:
    """Create, show and remove the AWS side: IAM role, security group rule, Redshift cluster.

    Everything sparkify creates is tagged managed-by=sparkify; `down` removes only what carries
    the tag. Credentials come from the usual AWS places (AWS_PROFILE, ~/.aws, environment).

    \b
    Example:
      sparkify infra up --region us-west-2 --cidr 203.0.113.7/32
      sparkify infra status --region us-west-2
      sparkify infra down --region us-west-2
    """


@infra.command("up")
@aws_options
@click.option(
    "--cidr",
    metavar="RANGE",
    help="Who may connect to the cluster port. Default: your public address as /32 (looked up "
    "online). 0.0.0.0/0 opens it to everyone; only if you type it.",
)
@click.option(
    "--bucket",
    "buckets",
    multiple=True,
    metavar="NAME",
    help=f"Bucket the role may read (repeatable). Default: {lib.DEFAULT_BUCKET}.",
)
@click.option("--all-buckets", is_flag=True, help="Let the role read every S3 bucket instead.")
@click.option("--node-type", default=lib.DEFAULT_NODE_TYPE, show_default=True, help="Redshift node type.")
@click.option("--nodes", type=int, default=1, show_default=True, help="Number of nodes (1: single-node).")
@click.option("--db-name", default="sparkify", show_default=True, help="Database to create.")
@click.option("--master-user", default="sparkify", show_default=True, help="Master user name.")
@click.option(
    "--public",
    is_flag=True,
    help="Give the cluster a public address (needed to connect from outside its VPC).",
)
@options.file_option(
    "--password-file",
    help=f"Where a generated master password is kept (mode 0600). Default: "
    f"~/.config/sparkify/CLUSTER.redshift-password. ${lib.PASSWORD_ENV} takes precedence.",
)
@timeout_option("How long to wait for the cluster.")
@click.option("--yes", "-y", is_flag=True, help="Apply the plan without asking.")
def up_cmd(
    region,
    profile,
    cluster_id,
    role_name,
    security_group,
    port,
    cidr,
    buckets,
    all_buckets,
    node_type,
    nodes,
    db_name,
    master_user,
    public,
    password_file,
    timeout,
    yes,
):
    """Create what is missing (role, rule, cluster), wait for the cluster, write sparkify.toml.

    Shows the plan and asks before changing anything. Safe to run twice: the second run changes
    nothing and says so. The master password comes from $SPARKIFY_REDSHIFT_PASSWORD, else it is
    generated into --password-file; it is never printed. The role may read the --bucket buckets and
    the bucket of manifest_prefix (SPARKIFY_MANIFEST_PREFIX or sparkify.toml), where runs stage the
    rows COPY loads. sparkify.toml gets `warehouse`
    (redshift://USER@HOST:PORT/DB, no password), `iam_role` and `region`; its other keys stay.

    \b
    Example:
      sparkify infra up --region us-west-2 --cidr 203.0.113.7/32
      sparkify infra up --region us-west-2 --public --yes     # your address, looked up online
      sparkify infra up --bucket my-raw-data --node-type ra3.xlplus --nodes 2
    """
    from sparkify.config import CONFIG_FILE, load_settings
    from sparkify.sources.s3 import parse_s3_uri

    obj = state()
    console = make_console()
    buckets = tuple(buckets) or (lib.DEFAULT_BUCKET,)
    # Redshift's COPY reads the rows a run stages under manifest_prefix: the role must read that bucket
    staging = load_settings({}).manifest_prefix
    staging_bucket = parse_s3_uri(staging)[0] if staging else None
    if staging_bucket and staging_bucket not in buckets and not all_buckets:
        buckets = (*buckets, staging_bucket)
    spec = lib.Spec(
        cidr=lib.normalize_cidr(cidr) if cidr else "",
        role_name=role_name,
        buckets=buckets,
        all_buckets=all_buckets,
        security_group=security_group,
        cluster_id=cluster_id,
        node_type=node_type,
        nodes=nodes,
        db_name=db_name,
        master_user=master_user,
        port=port,
        public=public,
    )
    handle, who = _connect(region, profile)
    if not spec.cidr:
        spec = dataclasses.replace(spec, cidr=lib.caller_cidr())
    password = lib.Password(password_file or lib.default_password_file(cluster_id))
    config_path = Path.cwd() / CONFIG_FILE

    plan = lib.up(handle, spec, password=password.get, dry_run=True)
    role, _group, _rule, cluster = plan
    if cluster.action == "create" and (password.from_env or password.file.is_file()):
        password.get()  # a password the cluster would refuse stops here, before anything is created
    existing = lib.describe_cluster(handle, cluster_id) if cluster.action != "create" else None
    pending_keys: list[str] | None = None  # None: not known until the cluster is available
    if existing is not None and existing.get("ClusterStatus") == "available" and role.ref:
        pending_keys = lib.update_settings_file(
            config_path, lib.settings_for(handle, existing, role.ref), dry_run=True
        )
    toml_row = [
        "settings file",
        str(config_path),
        "update" if pending_keys is None or pending_keys else "exists",
        "sets " + ", ".join(pending_keys)
        if pending_keys
        else "up to date"
        if pending_keys is not None
        else "sets warehouse, iam_role, region once the cluster is available",
    ]
    if not (obj.quiet and yes):
        show.header(console, handle, who)
        console.print(show.changes_table("Plan", plan, show.PLANNED, extra=[toml_row]))
        if cluster.action == "create":
            show.say(console, f"Password: {password.source}. It is never printed.")
        if lib.is_world(spec.cidr):
            show.say(
                console,
                f"Warning: --cidr {spec.cidr} opens port {spec.port} to the whole internet; "
                "anyone can try passwords against the cluster.",
            )
        if not spec.public and cluster.action == "create":
            show.say(
                console,
                f"Note: the cluster will be private (reachable only from inside its VPC); pass --public "
                f"to connect from {spec.cidr}.",
            )
    if not any(c.changes for c in plan) and pending_keys == []:
        show.say(
            console,
            "Nothing to change: the IAM role, security group, ingress rule and cluster exist, "
            "and sparkify.toml is up to date.",
        )
        return
    if not yes:
        _confirm("Apply this plan?")

    applied = lib.up(handle, spec, password=password.get)
    if not obj.quiet:
        for change in applied:
            show.print_done(console, change)
    described = show.wait(console, handle, cluster_id, deleted=False, timeout_min=timeout)
    role_arn = applied[0].ref
    assert described is not None and role_arn is not None
    written = lib.update_settings_file(config_path, lib.settings_for(handle, described, role_arn))
    endpoint = lib.endpoint_of(described)
    show.say(console, f"Cluster {cluster_id} is available at {endpoint}.")
    if written:
        show.say(console, f"Wrote {', '.join(written)} to {config_path}.")
    else:
        show.say(console, f"{config_path} already up to date.")
    if cluster.action == "create" and not password.from_env:
        show.say(console, f"The master password is in {password.file} (mode 0600). Before `sparkify run`:")
        show.say(console, f'  export {lib.PASSWORD_ENV}="$(cat {password.file})"')


@infra.command("status")
@aws_options
def status_cmd(region, profile, cluster_id, role_name, security_group, port):
    """Show the role, security group, ingress rules and cluster (state and endpoint). Changes nothing.

    \b
    Example:
      sparkify infra status --region us-west-2
      sparkify infra status --cluster-id sparkify-test
    """
    console = make_console()
    spec = lib.Spec(role_name=role_name, security_group=security_group, cluster_id=cluster_id, port=port)
    handle, who = _connect(region, profile)
    rows = lib.status(handle, spec)
    show.header(console, handle, who)
    console.print(
        show.infra_table(
            "sparkify infra",
            ["resource", "name", "state", "managed by", "details"],
            [[r.resource, r.name, r.state, r.owner, r.detail] for r in rows],
        )
    )
    for row in rows:
        if row.ref:
            label = "Endpoint of cluster" if row.resource == "cluster" else f"ARN of {row.resource}"
            show.say(console, f"{label} {row.name}: {row.ref}")


@infra.command("down")
@aws_options
@click.option(
    "--skip-final-snapshot",
    is_flag=True,
    help="Delete the cluster without a final snapshot: its data is lost for good.",
)
@timeout_option("How long to wait for the cluster to go.")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
def down_cmd(region, profile, cluster_id, role_name, security_group, port, skip_final_snapshot, timeout, yes):
    """Delete the cluster (after a final snapshot), then sparkify's ingress rule, group and role.

    Only resources tagged managed-by=sparkify are removed; anything else with the same name is
    listed as left alone. Shows the plan and asks first. Safe to run twice.

    \b
    Example:
      sparkify infra down --region us-west-2
      sparkify infra down --region us-west-2 --skip-final-snapshot --yes
    """
    from sparkify.config import CONFIG_FILE

    obj = state()
    console = make_console()
    spec = lib.Spec(role_name=role_name, security_group=security_group, cluster_id=cluster_id, port=port)
    handle, who = _connect(region, profile)
    final = not skip_final_snapshot

    plan = [
        lib.teardown_cluster(handle, spec, final_snapshot=final, dry_run=True),
        *lib.teardown_ingress(handle, spec, dry_run=True),
        lib.teardown_role(handle, spec, dry_run=True),
    ]
    if not (obj.quiet and yes):
        show.header(console, handle, who)
        console.print(show.changes_table("Plan", plan, show.PLANNED))
    if not any(c.changes for c in plan):
        show.say(console, "Nothing to remove: no resource of sparkify's exists under these names.")
        return
    if not yes:
        _confirm("Delete these resources?")

    done = [lib.teardown_cluster(handle, spec, final_snapshot=final)]
    if not obj.quiet:
        show.print_done(console, done[0])
    if done[0].action == "delete":
        show.wait(console, handle, cluster_id, deleted=True, timeout_min=timeout)
    for change in [*lib.teardown_ingress(handle, spec), lib.teardown_role(handle, spec)]:
        done.append(change)
        if not obj.quiet:
            show.print_done(console, change)
    removed = [c for c in done if c.action == "delete"]
    kept = [f"{c.resource} {c.name}" for c in done if c.action == "skip"]
    show.say(
        console, f"Removed {len(removed)} resources." + (f" Left alone: {', '.join(kept)}." if kept else "")
    )
    config_path = Path.cwd() / CONFIG_FILE
    if done[0].action == "delete" and config_path.is_file() and f"@{cluster_id}." in config_path.read_text():
        show.say(
            console, f"{config_path} still names the deleted cluster: change `warehouse` before the next run."
        )


cli.add_command(infra)


def _confirm(question: str) -> None:
    """Ask ``question`` (``[y/N]``) and return when the answer is yes. An answer of no, or none
    (standard input ended: a scheduler, ``< /dev/null``), is a ConfigError (exit 2) saying nothing
    changed and to pass --yes; Ctrl-C stays an interrupt (130)."""
    import sys

    from sparkify.errors import ConfigError

    click.echo(f"{question} [y/N]: ", nl=False)
    answer = sys.stdin.readline()
    if not answer:
        click.echo()
        raise ConfigError(
            f"No answer to {question!r} (standard input ended): nothing was changed. Pass --yes to go ahead "
            "without asking (a scheduler has no one to answer)."
        )
    if answer.strip().lower() not in ("y", "yes"):
        raise ConfigError("Not confirmed: nothing was changed. Pass --yes to go ahead without asking.")
