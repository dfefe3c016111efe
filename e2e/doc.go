// Package e2e proves certgate's behaviour with the clients its users run:
// curl, openssl s_client and headless Chromium with an NSS client
// certificate. The tests build the real binary, create a PKI with the real
// `certgate pki` CLI, start `certgate serve` on 127.0.0.1 and drive the
// clients as processes, so what they check is what an operator sees.
//
// Why real clients and not Go's http client: only a browser filters the
// certificates it offers by the CA names the server sends (the CTL /
// issuer_list) and by Key Usage / EKU, and OpenSSL prints the names exactly
// as they travel on the wire. The recipes the tests follow are in
// shared/recipes/real-clients.md.
//
// A missing client (curl, openssl, chromium, certutil, pk12util) skips its
// test with a message outside CI; with CI=true it fails, so CI can never be
// green without having run the real clients. The Chromium test writes a
// managed policy file (AutoSelectCertificateForUrls) under
// /etc/chromium/policies/managed, because headless Chromium cannot show a
// certificate picker; the file, and any directory the test created for it,
// is removed when the test ends, also on failure.
package e2e
