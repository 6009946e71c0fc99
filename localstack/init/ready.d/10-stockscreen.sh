#!/bin/sh
# LocalStack init hook: the same bootstrap `make dev` runs against moto.
python3 /etc/localstack/init/bootstrap.py --endpoint-url http://localhost:4566
