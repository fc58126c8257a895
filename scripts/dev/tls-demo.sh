#!/usr/bin/env bash
# Makes what HTTPS end to end needs on this machine, for demos and tests:
# a throwaway CA, a certificate for localhost / 127.0.0.1 / ::1 signed by it
# (valid 30 days), an API-key header file, and a copy of config.json that
# points the service at the embedded mock over HTTPS with them.
# Usage: scripts/dev/tls-demo.sh [DIR]   (default .tls-demo; prints DIR/config.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-.tls-demo}"
command -v openssl >/dev/null || ./scripts/lib/ensure-deps.sh openssl >&2
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ ! -s "$dir/localhost.pem" ] || ! openssl x509 -checkend 86400 -noout -in "$dir/localhost.pem" >/dev/null; then
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -keyout ca.key -out ca.pem -subj "/CN=event-service demo CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout localhost.key -out localhost.csr -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" > localhost.ext
    openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile localhost.ext -out localhost.pem 2>/dev/null
    rm -f localhost.csr localhost.ext ca.srl
    chmod 600 ./*.key
  )
fi
# The key is random per directory: it stands for a secret mounted as a file.
[ -s "$dir/api-key.json" ] ||
  printf '{"Authorization": "Bearer demo-%s"}\n' "$(openssl rand -hex 16)" > "$dir/api-key.json"
chmod 600 "$dir/api-key.json"
sed -e "s|\"API_BASE\": \"\"|\"API_BASE\": \"https://localhost:3001\"|" \
  -e "s|\"UPSTREAM_HEADERS_FILE\": \"\"|\"UPSTREAM_HEADERS_FILE\": \"$dir/api-key.json\"|" \
  -e "s|\"UPSTREAM_CA_FILE\": \"\"|\"UPSTREAM_CA_FILE\": \"$dir/ca.pem\"|" \
  -e "s|\"TLS_CERT_FILE\": \"\"|\"TLS_CERT_FILE\": \"$dir/localhost.pem\"|" \
  -e "s|\"TLS_KEY_FILE\": \"\"|\"TLS_KEY_FILE\": \"$dir/localhost.key\"|" \
  config.json > "$dir/config.json"
grep -q "https://localhost:3001" "$dir/config.json" || { echo "config.json not in the expected shape" >&2; exit 1; }
echo "$dir/config.json"
