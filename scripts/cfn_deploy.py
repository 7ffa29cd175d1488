"""Deploys a CloudFormation template onto a local AWS emulator (moto's
server) and prints, as one JSON line, the stack's outputs and the
properties the template gives each resource.

The DynamoDB tests use it to build their table from deploy/dynamodb-table.yaml
instead of DynamoDbStore::create_table, and to compare the two; without
--endpoint it only prints the template's resources.

    python scripts/cfn_deploy.py --endpoint http://127.0.0.1:5000 \
        --template deploy/dynamodb-table.yaml --stack tasks TableName=tasks
    python scripts/cfn_deploy.py --template deploy/lambda.yaml
"""

import argparse
import json
import sys
import time

import boto3
from cfnlint.decode import decode_str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="deploy there; without it, only print")
    parser.add_argument("--template", required=True)
    parser.add_argument("--stack", default="pmcp-tasks")
    parser.add_argument("parameters", nargs="*", help="Name=Value")
    args = parser.parse_args()

    body = open(args.template, encoding="utf-8").read()
    template, problems = decode_str(body)
    if problems:
        print(f"{args.template} does not parse: {problems}", file=sys.stderr)
        return 1
    resources = {
        name: {"type": r["Type"], "properties": r.get("Properties", {})}
        for name, r in template["Resources"].items()
    }
    if not args.endpoint:
        print(json.dumps({"resources": resources}, default=str))
        return 0
    client = boto3.client(
        "cloudformation",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    parameters = [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in (p.split("=", 1) for p in args.parameters)
    ]
    client.create_stack(StackName=args.stack, TemplateBody=body, Parameters=parameters)
    for _ in range(600):
        stack = client.describe_stacks(StackName=args.stack)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if not status.endswith("IN_PROGRESS"):
            print(f"stack {args.stack}: {status} {stack.get('StackStatusReason', '')}", file=sys.stderr)
            return 1
        time.sleep(0.1)
    else:
        print(f"stack {args.stack} was not created in time", file=sys.stderr)
        return 1
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    print(json.dumps({"outputs": outputs, "resources": resources}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
