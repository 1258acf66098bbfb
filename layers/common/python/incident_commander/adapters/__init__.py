"""The only place that talks to AWS SDK clients (boto3, opensearch-py)."""
