#!/bin/sh
# Builds tests/tools/azure-smoke.c against the project's Azure modules and runs it against a
# running Azurite (scripts/azurite start), or against AZURE_STORAGE_* if already set.
#   tests/tools/azure-smoke.sh [az://devstoreaccount1/<container>]
set -eu
cd "$(dirname "$0")/../.."
out=${AZURE_SMOKE_BUILD:-build/tools}
mkdir -p "$out"
# only the modules the program uses, so it builds while other parts of the tree are in flux
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iengine -o "$out/azure-smoke" \
	tests/tools/azure-smoke.c engine/lib/azure_auth.c engine/lib/az_conf.c \
	engine/lib/az_blob.c engine/lib/codec.c -lcurl -lssl -lcrypto
if [ -z "${AZURE_STORAGE_CONNECTION_STRING:-}${AZURE_STORAGE_KEY:-}" ]; then
	eval "$(scripts/azurite env)"
fi
exec "$out/azure-smoke" "$@"
