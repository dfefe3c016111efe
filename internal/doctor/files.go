package doctor

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/certgate/certgate/internal/certfile"
	"github.com/certgate/certgate/internal/verify"
)

// maxInputBytes bounds every file the doctor reads: trust stores, CRLs and
// key stores are small; a multi-gigabyte file is a mistake, not input.
const maxInputBytes = 256 << 20

// Cert is a certificate with the place it was read from.
type Cert struct {
	*x509.Certificate
	// Source is the file, with "#N" for the Nth certificate of a bundle.
	Source string
}

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if st.Size() > maxInputBytes {
		return nil, fmt.Errorf("read %s: %w: %d bytes is more than the %d-byte limit", path, ErrBadInput, st.Size(), maxInputBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// expand turns files and directories into a sorted list of files. A
// directory contributes its regular files (not sub-directories): trust
// stores and key stores are flat, and recursing would pick up backups.
func expand(paths []string) (files []string, fromDir map[string]bool, err error) {
	fromDir = map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, fmt.Errorf("read directory %s: %w", p, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				f := filepath.Join(p, e.Name())
				files = append(files, f)
				fromDir[f] = true
			}
		}
	}
	return files, fromDir, nil
}

// parseCerts reads the certificates of a client-store file: PEM
// CERTIFICATE blocks (other blocks, such as keys, are skipped) or DER.
// found is false when data holds none (a key file, a note).
func parseCerts(data []byte, name string) (certs []*x509.Certificate, found bool, err error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		certs, err := x509.ParseCertificates(data)
		if err != nil || len(certs) == 0 {
			return nil, false, nil
		}
		return certs, true, nil
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, true, fmt.Errorf("parse %s: certificate %d: %w", name, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	return certs, len(certs) > 0, nil
}

// LoadCerts reads a trust store exactly as the gateway does (internal/
// certfile: PEM or DER files; in a directory the *.pem, *.crt and *.cer
// files; a file or directory without certificates is an error), keeping
// each certificate's file for the report.
func LoadCerts(paths ...string) ([]Cert, error) {
	out, _, err := loadCerts(paths, false)
	return out, err
}

// loadCerts is LoadCerts; with skipDSA a DSA certificate that cannot be
// parsed is left out and reported in skipped (certfile.ErrDSA).
func loadCerts(paths []string, skipDSA bool) (out []Cert, skipped []error, err error) {
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", p, err)
		} else if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, nil, fmt.Errorf("read directory %s: %w", p, err)
			}
			files = files[:0]
			for _, e := range entries {
				if slices.Contains(certfile.CertExtensions, strings.ToLower(filepath.Ext(e.Name()))) {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			if len(files) == 0 {
				// certfile names the problem (no *.pem, *.crt, *.cer files).
				_, err := certfile.LoadCertificates(p)
				return nil, nil, err
			}
		}
		for _, f := range files {
			certs, skip, err := certfile.LoadCertificatesExceptDSA(f)
			if err == nil && !skipDSA && len(skip) > 0 {
				err = skip[0]
			}
			if err != nil {
				return nil, nil, err
			}
			skipped = append(skipped, skip...)
			for i, c := range certs {
				out = append(out, Cert{Certificate: c, Source: source(f, i, len(certs))})
			}
		}
	}
	return out, skipped, nil
}

// LoadCertsWithPFX is LoadCerts that also reads PKCS#12 files (.p12/.pfx,
// or a file whose content is a PFX) opened with password: a Windows
// certificate store export (certmgr "Export", Export-PfxCertificate) holds
// the store's certificates that way. Every certificate of the file counts,
// the client certificate's too when there is one.
func LoadCertsWithPFX(password string, paths ...string) ([]Cert, error) {
	var plain []string
	var certs []Cert
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			if data, err := readFile(p); err == nil && (isP12(p) || looksLikePFX(data)) {
				_, leaf, cas, err := decodeP12(data, password, p)
				if err != nil {
					return nil, err
				}
				all := cas
				if leaf != nil {
					all = append([]*x509.Certificate{leaf}, cas...)
				}
				for i, c := range all {
					certs = append(certs, Cert{Certificate: c, Source: source(p, i, len(all))})
				}
				continue
			}
		}
		plain = append(plain, p)
	}
	if len(plain) > 0 {
		more, err := LoadCerts(plain...)
		if err != nil {
			return nil, err
		}
		certs = append(certs, more...)
	}
	return certs, nil
}

func source(file string, i, n int) string {
	if n == 1 {
		return file
	}
	return fmt.Sprintf("%s#%d", file, i+1)
}

// StoreCert is one certificate of a client's key store, with its private
// key when the store has one that matches it.
type StoreCert struct {
	Cert
	Key crypto.Signer
}

// Store is a client certificate store as a browser sees it: certificates,
// some with private keys, and CA certificates usable to build chains.
type Store struct {
	Certs []StoreCert
	// Warnings name inputs that were skipped or keys that match nothing.
	Warnings []string
}

// LoadStore reads a client store from PEM files (certificates and keys in
// one file, or cert.pem next to cert.key), DER certificates, PKCS#12 files
// (.p12/.pfx, opened with password) and directories of them. Keys are
// matched to certificates by public key, wherever in the store they are,
// the way NSS and CryptoAPI pair them.
func LoadStore(paths []string, password string) (*Store, error) {
	files, fromDir, err := expand(paths)
	if err != nil {
		return nil, err
	}
	// A named cert.pem brings its sibling cert.key along.
	seen := map[string]bool{}
	for _, f := range files {
		seen[f] = true
	}
	for _, f := range files {
		if fromDir[f] || isP12(f) {
			continue
		}
		sib := strings.TrimSuffix(f, filepath.Ext(f)) + ".key"
		if sib != f && !seen[sib] {
			if _, err := os.Stat(sib); err == nil {
				files = append(files, sib)
				seen[sib] = true
			}
		}
	}

	s := &Store{}
	type srcKey struct {
		key    crypto.Signer
		source string
	}
	var keys []srcKey
	addCert := func(c *x509.Certificate, src string) {
		for _, have := range s.Certs {
			if bytes.Equal(have.Raw, c.Raw) {
				return // the same certificate from two files (a p12 and its PEM export)
			}
		}
		s.Certs = append(s.Certs, StoreCert{Cert: Cert{Certificate: c, Source: src}})
	}
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			return nil, err
		}
		if isP12(f) {
			key, leaf, cas, err := decodeP12(data, password, f)
			if err != nil {
				return nil, err
			}
			if leaf != nil {
				addCert(leaf, f)
			}
			for _, c := range cas {
				addCert(c, f)
			}
			if key != nil {
				keys = append(keys, srcKey{key, f})
			}
			continue
		}
		certs, found, err := parseCerts(data, f)
		if err != nil {
			return nil, err
		}
		for i, c := range certs {
			addCert(c, source(f, i, len(certs)))
		}
		// Keys go through the gateway's key reader (PKCS#8, PKCS#1 or
		// SEC 1; an encrypted key is an error that says how to decrypt it).
		nkeys := 0
		hasPEM := bytes.Contains(data, []byte("-----BEGIN"))
		switch {
		case hasPEM && bytes.Contains(data, []byte("PRIVATE KEY-----")):
			k, err := certfile.LoadPrivateKey(f)
			if err != nil {
				return nil, fmt.Errorf("read store: %w", err)
			}
			keys = append(keys, srcKey{k, f})
			nkeys++
		case !hasPEM && !found:
			if k, err := certfile.LoadPrivateKey(f); err == nil { // a DER key
				keys = append(keys, srcKey{k, f})
				nkeys++
			}
		}
		if !found && nkeys == 0 {
			if fromDir[f] {
				s.Warnings = append(s.Warnings, fmt.Sprintf("skipped %s: no certificate or private key", f))
				continue
			}
			return nil, fmt.Errorf("read %s: %w (want PEM certificates and keys, DER, or .p12/.pfx)", f, ErrNoCertificates)
		}
	}
	for _, k := range keys {
		matched := false
		for i := range s.Certs {
			if publicKeyEqual(k.key.Public(), s.Certs[i].PublicKey) {
				s.Certs[i].Key = k.key
				matched = true
			}
		}
		if !matched {
			s.Warnings = append(s.Warnings, fmt.Sprintf("private key in %s matches no certificate in the store", k.source))
		}
	}
	if len(s.Certs) == 0 {
		return nil, fmt.Errorf("read store %s: %w", strings.Join(paths, ", "), ErrNoCertificates)
	}
	return s, nil
}

func isP12(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".p12", ".pfx":
		return true
	}
	return false
}

// looksLikePFX reports whether data is a DER PFX (RFC 7292 section 4:
// SEQUENCE { version INTEGER 3, ... }), so that a PKCS#12 file named
// alice.der or alice.bin is not parsed as a certificate.
func looksLikePFX(data []byte) bool {
	s := cryptobyte.String(data)
	var pfx cryptobyte.String
	var version int
	return s.ReadASN1(&pfx, cbasn1.SEQUENCE) && pfx.ReadASN1Integer(&version) && version == 3
}

// decodeP12 opens a PKCS#12 file with a key (a client identity) or, failing
// that, as a trust store (certificates only).
func decodeP12(data []byte, password, name string) (crypto.Signer, *x509.Certificate, []*x509.Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err == nil {
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, nil, nil, fmt.Errorf("read pkcs12 %s: %w: key type %T cannot sign", name, ErrBadInput, key)
		}
		return signer, leaf, cas, nil
	}
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return nil, nil, nil, fmt.Errorf("read pkcs12 %s: %w (pass it with --password)", name, ErrPassword)
	}
	certs, terr := pkcs12.DecodeTrustStore(data, password)
	if terr == nil && len(certs) > 0 {
		return nil, nil, certs, nil
	}
	return nil, nil, nil, fmt.Errorf("read pkcs12 %s: %w: %v", name, ErrBadInput, err)
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// LoadIdentity reads the client certificate probe sends: a PEM certificate
// (with its chain) and key, or a PKCS#12 file. The key must match the leaf.
func LoadIdentity(certFile, keyFile, p12File, password string) (*tls.Certificate, error) {
	switch {
	case p12File != "" && (certFile != "" || keyFile != ""):
		return nil, fmt.Errorf("load client certificate: %w: give --p12 or --cert/--key, not both", ErrBadInput)
	case p12File != "":
		data, err := readFile(p12File)
		if err != nil {
			return nil, err
		}
		key, leaf, cas, err := decodeP12(data, password, p12File)
		if err != nil {
			return nil, err
		}
		if key == nil || leaf == nil {
			return nil, fmt.Errorf("load client certificate %s: %w: the PKCS#12 file holds no private key", p12File, ErrBadInput)
		}
		tc := &tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
		for _, c := range cas {
			// The root is not sent (RFC 8446 §4.4.2 allows omitting it) and
			// would only add bytes.
			if !verify.IsSelfSigned(c) {
				tc.Certificate = append(tc.Certificate, c.Raw)
			}
		}
		return tc, nil
	case certFile != "":
		if keyFile == "" {
			keyFile = strings.TrimSuffix(certFile, filepath.Ext(certFile)) + ".key"
		}
		tc, err := certfile.LoadKeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		return &tc, nil
	case keyFile != "":
		return nil, fmt.Errorf("load client certificate: %w: --key needs --cert", ErrBadInput)
	}
	return nil, nil
}
