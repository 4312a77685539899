#!/bin/sh
# Write the secrets compose.yaml reads: deploy/resync.env and deploy/secrets/audit-signing.pem.
# Run once; it refuses to overwrite (rotating keys is a procedure: docs/audit.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
umask 077
if [ -e "$here/resync.env" ]; then
    echo "deploy/resync.env exists: not overwriting it" >&2
    exit 1
fi
mkdir -p "$here/secrets"
openssl genpkey -algorithm ed25519 -out "$here/secrets/audit-signing.pem"
chmod 0644 "$here/secrets/audit-signing.pem"  # read by the container's unprivileged user
pg_password=$(openssl rand -hex 24)
sed -e "s|__POSTGRES_PASSWORD__|$pg_password|g" \
    -e "s|__AUDIT_KEY__|$(openssl rand -base64 32)|" \
    -e "s|__RUNBOOK_SIGNING_KEY__|$(openssl rand -base64 32)|" \
    -e "s|__METRICS_TOKEN__|$(openssl rand -hex 16)|" \
    "$here/resync.env.example" > "$here/resync.env"
echo "wrote deploy/resync.env and deploy/secrets/audit-signing.pem (keep them out of git)"
