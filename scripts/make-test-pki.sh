#!/usr/bin/env bash
# Makes the test PKI with the openssl CLI: a root CA, an intermediate, a code-signing signer,
# an expired signer, a signer with the wrong key usage, and an unrelated CA with its signer; the
# hostile certificates issue 13 refuses (a CA:TRUE signer, a signer without basicConstraints,
# intermediates whose extended key usage excludes codeSigning); and revocation: CRLs of the root
# and the intermediates, a revoked signer, a revoked intermediate, keyrings with and without them.
# Keys are made at test time and never committed. Each OUTDIR is made by one process (the tests
# use one per test process), so parallel test processes never share files.
# Usage: make-test-pki.sh OUTDIR
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
# A signer that is also a CA: refused, a leaf must say CA:FALSE.
[ca-signer]
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# A signer without basicConstraints: refused, whether it is a CA would be left to guesswork.
[no-bc-signer]
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# Intermediates that restrict their extended key usage.
[ca-server-eku]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca-any-eku]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = anyExtendedKeyUsage
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca-codesign-eku]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = serverAuth, codeSigning
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

# Hostile signers (each signs with its own chain, NAME-chain.pem, when the default one does not fit).
issue ca-signer "/CN=twinslot CA Signer" intermediate ca-signer
issue no-bc-signer "/CN=twinslot Signer Without Basic Constraints" intermediate no-bc-signer
for eku in server any codesign; do
  issue "$eku-eku-ca" "/CN=twinslot Intermediate CA EKU $eku" root-ca "ca-$eku-eku"
  issue "$eku-eku-signer" "/CN=twinslot Signer Under EKU $eku" "$eku-eku-ca" signer
  cp "$eku-eku-ca.pem" "$eku-eku-signer-chain.pem"
done

# Revocation. `openssl ca` keeps one database per issuer; the CRLs are valid for 30 days.
cadb() { # issuer: a database for the issuer's CRLs, under crl-db/ISSUER
  mkdir -p "crl-db/$1"
  : > "crl-db/$1/index.txt"
  cat > "crl-db/$1/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = crl-db/$1/index.txt
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
CNF
}
revoke() { # issuer certificate
  openssl ca -batch -config "crl-db/$1/ca.cnf" -cert "$1.pem" -keyfile "$1.key" -revoke "$2.pem" 2>/dev/null
}
crl() { # issuer out
  openssl ca -batch -config "crl-db/$1/ca.cnf" -cert "$1.pem" -keyfile "$1.key" -gencrl -out "$2" 2>/dev/null
}
issue revoked-signer "/CN=twinslot Revoked Signer" intermediate signer
issue revoked-intermediate "/CN=twinslot Revoked Intermediate CA" root-ca ca
issue revoked-intermediate-signer "/CN=twinslot Signer Under Revoked Intermediate" revoked-intermediate signer
cp revoked-intermediate.pem revoked-intermediate-signer-chain.pem
for issuer in root-ca intermediate revoked-intermediate; do cadb "$issuer"; done
revoke intermediate revoked-signer
revoke root-ca revoked-intermediate
crl root-ca root-ca.crl.pem
crl intermediate intermediate.crl.pem
crl revoked-intermediate revoked-intermediate.crl.pem

cp intermediate.pem signer-chain.pem
cp root-ca.pem keyring.pem
cp other-ca.pem other-keyring.pem
# Every issuer's CRL: revocation is checked for the whole chain.
cat root-ca.pem root-ca.crl.pem intermediate.crl.pem revoked-intermediate.crl.pem > crl-keyring.pem
# The root's CRL only: the intermediate's signers have no CRL from their issuer.
cat root-ca.pem root-ca.crl.pem > partial-crl-keyring.pem
touch .complete
