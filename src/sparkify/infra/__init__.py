"""The AWS side of sparkify: the IAM role, security group rule and Redshift cluster it loads into.

:mod:`sparkify.infra.aws` holds the library (idempotent ``ensure_*`` / ``teardown_*`` functions that
take an :class:`~sparkify.infra.aws.Aws` handle and print nothing); :mod:`sparkify.infra.cli` holds
the ``sparkify infra up / status / down`` commands. Neither imports boto3 until it is used, so sparkify
works without the ``aws`` extra until someone asks for AWS.
"""
