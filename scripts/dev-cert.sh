#!/usr/bin/env bash
# A self-signed certificate for trying chatd's TLS listeners on a laptop.
#
#   scripts/dev-cert.sh [DIR]       (default: ./dev-cert)
#
# Writes DIR/cert.pem (the certificate) and DIR/key.pem (its private key,
# mode 0600) for the names localhost, 127.0.0.1 and ::1, valid 825 days.
# Then, for example:
#   chatd --tls-listen 127.0.0.1:5001 --tls-cert DIR/cert.pem --tls-key DIR/key.pem
#   openssl s_client -connect localhost:5001 -quiet      (or: -CAfile DIR/cert.pem)
# A client that checks certificates must be told to trust DIR/cert.pem:
# nothing else signed it. Not for production: use a real certificate there
# (Let's Encrypt) and SIGHUP chatd after each renewal (docs/operations.md).
set -euo pipefail
dir=${1:-dev-cert}
command -v openssl >/dev/null || { echo "dev-cert.sh: openssl is needed (apt-get install openssl)" >&2; exit 2; }
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 0644 "$dir/cert.pem"
echo "wrote $dir/cert.pem and $dir/key.pem (self-signed for localhost, 127.0.0.1, ::1)"
