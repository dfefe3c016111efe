package substatus

import "strconv"

// CodeDetail is what certgate says about a code beyond the Windows message:
// why it usually happens, and what to run next. Codes without an entry fall
// back to the causes and next steps of the sub-status they map to.
type CodeDetail struct {
	// Causes are the likely causes, most frequent first.
	Causes []string
	// NextSteps are commands or checks for the operator.
	NextSteps []string
}

var codeDetails = map[Code]CodeDetail{
	SecENoCredentials: {
		Causes: []string{
			"The browser filtered its certificates by the CA names the server sent and none matched, so it sent none (Chromium and Firefox do this without prompting).",
			"The issuer list was truncated (Schannel event 36885, certgate max_bytes) and the client's CA was dropped.",
			"Every certificate in the client's store is expired, lacks a private key, or has Key Usage / EKU that excludes client authentication.",
			"The user cancelled the certificate picker, or no client certificate is installed.",
		},
		NextSteps: []string{
			"certgate probe https://HOST/ (is a certificate requested, with which CA names?)",
			"certgate select --from https://HOST/ --store CLIENT.p12 --password PASS (which certificates would be offered, and why not)",
		},
	},
	CertEExpired: {
		Causes: []string{
			"The client certificate's notAfter has passed.",
			"An intermediate CA's notAfter has passed while the leaf still looks valid.",
			"The certificate's notBefore is in the future: the issuing CA or this server has a wrong clock.",
		},
		NextSteps: []string{"certgate verify CLIENT.pem -c certgate.yaml --site SITE (names the element and its validity window)"},
	},
	CertEUntrustedRoot: {
		Causes: []string{
			"The chain ends in a root that is not among the site's trust.roots.",
			"The chain ends in a self-signed leaf or a private CA that was never configured.",
			"The client sent a chain for a different deployment (test vs production PKI with the same CA names).",
		},
		NextSteps: []string{
			"certgate verify CLIENT.pem -c certgate.yaml --site SITE",
			"certgate lint -c certgate.yaml (roots that are not self-signed, expired CAs)",
		},
	},
	CertEChaining: {
		Causes: []string{
			"The certificate comes from a PKI this site does not trust at all: its issuer is neither among trust.roots nor trust.intermediates, and the client sent no chain up to a root (the commonest case: a certificate from another organisation, a test CA, or a personal certificate picked by mistake).",
			"An intermediate CA is missing: the client did not send it and trust.intermediates does not hold it.",
			"The intermediate configured is a different generation (same name, different key) from the one that signed the leaf.",
			"An intermediate was installed as a root on the server (KB 2802568), so the path the client needs is not built.",
		},
		NextSteps: []string{
			"certgate verify CLIENT.pem -c certgate.yaml --site SITE (names the issuer it could not find; compare it with trust.roots)",
			"certgate verify CLIENT.pem --intermediates INTERMEDIATES.pem --roots ROOTS.pem",
			"certgate lint --roots ROOTS.pem --intermediates INTERMEDIATES.pem (intermediates that chain to no root)",
		},
	},
	CertEWrongUsage: {
		Causes: []string{
			"The leaf has an Extended Key Usage without clientAuth (for example serverAuth only) and without anyExtendedKeyUsage.",
			"The leaf has Key Usage without digitalSignature (for example keyEncipherment only), so it cannot sign the TLS handshake.",
			"An intermediate CA restricts EKU to purposes that exclude clientAuth, which its children inherit.",
		},
		NextSteps: []string{
			"certgate verify CLIENT.pem -c certgate.yaml --site SITE (prints KU and EKU of every element)",
			"certgate lint --roots ROOTS.pem --intermediates INTERMEDIATES.pem (CAs whose EKU excludes clientAuth)",
		},
	},
	TrustECertSignature: {
		Causes: []string{
			"A certificate was signed with an algorithm that is refused (SHA-1 or MD5).",
			"A certificate in the chain was modified or re-encoded after signing.",
			"An issuer with the right name but a different key (an older CA generation) was used to build the chain.",
		},
		NextSteps: []string{"certgate verify CLIENT.pem -c certgate.yaml --site SITE", "certgate lint --roots ROOTS.pem --intermediates INTERMEDIATES.pem"},
	},
	CertERole: {
		Causes: []string{
			"A certificate without basicConstraints CA:TRUE is used as an issuer in the chain.",
			"An end-entity certificate was placed among the trusted roots or intermediates.",
		},
		NextSteps: []string{"certgate lint --roots ROOTS.pem --intermediates INTERMEDIATES.pem (non-CA certificates in a trust store)"},
	},
	CryptERevoked: {
		Causes: []string{
			"The client certificate is on its issuer's CRL or reported revoked by OCSP.",
			"An intermediate CA of the chain has been revoked by its parent.",
		},
		NextSteps: []string{"certgate verify --urlfetch CLIENT.pem -c certgate.yaml --site SITE (revocation date and reason)"},
	},
	CryptERevocationOffline: {
		Causes: []string{
			"A CRL distribution point (or OCSP responder) of one certificate in the chain is unreachable from the server, or answered with an error.",
			"The CRL that was fetched is past its nextUpdate, or signed by another key, and was ignored.",
			"Revocation mode is cache-only and no local CRL covers one of the CAs.",
		},
		NextSteps: []string{"certgate verify --urlfetch CLIENT.pem -c certgate.yaml --site SITE (every CDP/OCSP URL and what fetching it gave)"},
	},
	SecELogonDenied: {
		Causes: []string{
			"No mapping rule matched the verified certificate and mapping is required.",
			"A deny rule matched the certificate.",
			"A one-to-one mapping names the previous certificate; a renewed certificate has a new fingerprint.",
		},
		NextSteps: []string{"certgate map test -c certgate.yaml --site SITE CERT.pem"},
	},
	SecENoAuthenticatingAuthority: {
		Causes: []string{
			"The LDAP directory of mapping.directory is down, unreachable from the server, or slower than its timeout.",
			"The directory refused the bind (bind_dn or password_file wrong, account locked) or the TLS handshake (its certificate does not chain to mapping.directory.ca, or names another host).",
			"StartTLS is not offered by the directory on an ldap:// URL.",
		},
		NextSteps: []string{
			"certgate map test -c certgate.yaml --site SITE CERT.pem (the filters tried and the directory error)",
			"ldapsearch -H URL -ZZ -D BIND_DN -y PASSWORD_FILE -b BASE_DN '(objectClass=*)' 1.1",
		},
	},
}

// Details returns the likely causes and next steps for c: its own when it
// has them, otherwise those of the sub-status it maps to.
func (c Code) Details() CodeDetail {
	if d, ok := codeDetails[c]; ok {
		return d
	}
	if i, ok := codes[c]; ok {
		e := Must(i.Sub)
		return CodeDetail{Causes: e.Causes, NextSteps: e.NextSteps}
	}
	return CodeDetail{}
}

// Signed renders the value as a signed 32-bit decimal, as .NET and some
// Windows tools print HRESULTs (CERT_E_UNTRUSTEDROOT is -2146762487).
func (c Code) Signed() string { return strconv.FormatInt(int64(int32(c)), 10) }

// CodesFor lists the catalogued codes that map to s, in numeric order.
func CodesFor(s Sub) []CodeInfo {
	var out []CodeInfo
	for _, i := range Codes() {
		if i.Sub == s && i.Code != NoError {
			out = append(out, i)
		}
	}
	return out
}
