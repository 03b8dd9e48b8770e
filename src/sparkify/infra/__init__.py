"""The AWS side of sparkify: the IAM role, security group rule and Redshift cluster it loads into.

:mod:`sparkify.infra.aws` gathers the library (idempotent ``ensure_*`` / ``teardown_*`` functions
that take an :class:`~sparkify.infra.calls.Aws` handle and print nothing), which lives in
:mod:`~sparkify.infra.calls` (the handle, calls and their errors), :mod:`~sparkify.infra.plan`
(names, defaults, the tag), :mod:`~sparkify.infra.iam`, :mod:`~sparkify.infra.network`,
:mod:`~sparkify.infra.cluster`, :mod:`~sparkify.infra.password` and :mod:`~sparkify.infra.stack`;
:mod:`sparkify.infra.cli` holds the ``sparkify infra up / status / down`` commands. None imports boto3
until it is used, so sparkify works without the ``aws`` extra until someone asks for AWS.
"""
