"""The embedded local stack (moto on loopback, real ASL, real handlers in-process) and the CLI.

Not part of the Lambda layer bundle: the CDK app excludes this package.
"""
