"""`make bench`: the performance tables. Each benchmark prints one table; nothing here is a test.

Importing any `bench.*` module runs this first: fake AWS credentials and the Seoul region, and no endpoint or
profile taken from the shell, set before boto3 or the app are imported, so the benchmarks talk to in-process moto.
"""

import os

os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "ap-northeast-2",
                   "POWERTOOLS_METRICS_DISABLED": "true"})  # the app's EMF lines would interleave with the tables
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_variable, None)
