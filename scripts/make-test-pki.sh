#!/usr/bin/env bash
# Makes the test PKI with the openssl CLI: a root CA, an intermediate, a code-signing signer,
# an expired signer, a signer with the wrong key usage, and an unrelated CA with its signer.
# Keys are made at test time and never committed. Usage: make-test-pki.sh OUTDIR
set -euo pipefail
out=${1:?usage: make-test-pki.sh OUTDIR}
[ -f "$out/.complete" ] && exit 0
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# A self-signed CA.
selfsigned() { # name subject
  key "$1"
  openssl req -new -x509 -key "$1.key" -subj "$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem"
}
# A certificate issued by a CA: name subject issuer extension-section [days]
issue() {
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days "${5:-3650}" -sha256 \
    -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr"
}

selfsigned root-ca "/CN=twinslot Test Root CA"
issue intermediate "/CN=twinslot Test Intermediate CA" root-ca ca
issue signer "/CN=twinslot Test Signer" intermediate signer
issue wrong-usage-signer "/CN=twinslot Wrong Usage Signer" intermediate server

# An expired signer: issued with a validity period entirely in the past, via `openssl ca`,
# which accepts explicit start and end dates.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = anything
copy_extensions = none
[anything]
commonName = supplied
CNF
key expired-signer
openssl req -new -key expired-signer.key -subj "/CN=twinslot Expired Signer" -out expired-signer.csr
openssl ca -batch -config ca.cnf -cert intermediate.pem -keyfile intermediate.key \
  -startdate 20200101000000Z -enddate 20210101000000Z -extfile ext.cnf -extensions signer \
  -in expired-signer.csr -out expired-signer.pem -notext 2>/dev/null
rm -f expired-signer.csr

selfsigned other-ca "/CN=Unrelated Test CA"
issue other-signer "/CN=Unrelated Signer" other-ca signer

cp intermediate.pem signer-chain.pem
cp root-ca.pem keyring.pem
cp other-ca.pem other-keyring.pem
touch .complete
