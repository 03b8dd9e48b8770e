"""Helpers for tests. Hand-made inputs and star rows read back: :mod:`tests.helpers.records` (the one
vocabulary every test uses); S3 and the Redshift stand-in: :mod:`tests.helpers.s3`; the independent
reference model: :mod:`tests.helpers.reference`."""
