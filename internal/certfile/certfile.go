package certfile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CertExtensions are the file name extensions LoadCertificates reads from a
// directory (compared case-insensitively); other files there are ignored,
// so a README or a key next to the CA files does no harm.
var CertExtensions = []string{".pem", ".crt", ".cer"}

// MaxFileSize bounds what is read from one file, so that a path pointing at
// a device or a runaway file fails instead of exhausting memory. Trust
// bundles are kilobytes; large CRLs are tens of megabytes.
const MaxFileSize = 256 << 20

// pemBegin starts every PEM block (RFC 7468 section 2).
var pemBegin = []byte("-----BEGIN ")

// ReadPEMOrDER reads one file and returns its PEM blocks in file order. A
// file without any "-----BEGIN " line is taken to be DER and returned whole
// as a single block with an empty Type; the caller parses it as what it
// expects (a certificate, a CRL, a key). A PEM block that does not decode is
// an error naming its 1-based position, rather than being skipped as
// encoding/pem would, so that a damaged bundle is never half loaded.
func ReadPEMOrDER(path string) ([]*pem.Block, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return decodeBlocks(path, data)
}

// readFile is os.ReadFile with a size bound; its errors are the *PathError
// of the os package ("open ca.pem: no such file or directory"), which
// already name the file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d MiB", path, MaxFileSize>>20)
	}
	return data, nil
}

func decodeBlocks(name string, data []byte) ([]*pem.Block, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("read %s: %w", name, ErrEmptyFile)
	}
	if !bytes.Contains(data, pemBegin) {
		return []*pem.Block{{Bytes: data}}, nil
	}
	var blocks []*pem.Block
	rest := data
	for {
		i := bytes.Index(rest, pemBegin)
		if i < 0 {
			return blocks, nil
		}
		n := len(blocks) + 1
		b, after := pem.Decode(rest[i:])
		// pem.Decode skips a block it cannot decode and returns the next
		// one; a second BEGIN inside what it consumed means that happened.
		consumed := rest[i : len(rest)-len(after)]
		if b == nil || bytes.Count(consumed, pemBegin) != 1 {
			return nil, fmt.Errorf("parse %s: block %d: %w (check the base64 body and the -----END line)", name, n, ErrMalformedPEM)
		}
		blocks = append(blocks, b)
		rest = after
	}
}

// LoadCertificates reads certificates from files and directories, in a
// deterministic order: paths as given; in a directory, the files with a
// CertExtensions extension sorted by name (subdirectories are not entered);
// in a file, certificates in file order. Files may be PEM (CERTIFICATE
// blocks; other block types such as keys are skipped) or DER (one or more
// concatenated certificates).
//
// Every file must yield at least one certificate and every directory at
// least one file: a trust path that silently loads nothing would make
// every client certificate fail as untrusted.
func LoadCertificates(paths ...string) ([]*x509.Certificate, error) {
	out, _, err := loadCertificates(paths, false)
	return out, err
}

// LoadCertificatesExceptDSA is LoadCertificates, except that a DSA
// certificate that cannot be parsed is left out, with an error wrapping
// ErrDSA in skipped, instead of failing the load. It serves
// `certgate verify`, whose answer about a DSA chain is a 403.16 that says
// DSA, not a refusal to run.
func LoadCertificatesExceptDSA(paths ...string) (certs []*x509.Certificate, skipped []error, err error) {
	return loadCertificates(paths, true)
}

func loadCertificates(paths []string, skipDSA bool) ([]*x509.Certificate, []error, error) {
	var out []*x509.Certificate
	var skipped []error
	for _, p := range paths {
		files, err := certFiles(p)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			data, err := readFile(f)
			if err != nil {
				return nil, nil, err
			}
			certs, skip, err := parseCertificatesDSA(f, data, skipDSA)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, certs...)
			skipped = append(skipped, skip...)
		}
	}
	return out, skipped, nil
}

// certFiles expands a path to the files to read.
func certFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path) // sorted by file name
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !slices.Contains(CertExtensions, strings.ToLower(filepath.Ext(e.Name()))) {
			continue
		}
		full := filepath.Join(path, e.Name())
		// Follow symlinks (c_rehash-style directories are full of them)
		// but skip anything that is not a regular file in the end.
		if fi, err := os.Stat(full); err != nil || !fi.Mode().IsRegular() {
			if err != nil {
				return nil, err
			}
			continue
		}
		files = append(files, full)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load certificates from directory %s: %w (no *%s files)",
			path, ErrNoCertificates, strings.Join(CertExtensions, ", *"))
	}
	return files, nil
}

// parseCertificates parses the content of one file named name.
func parseCertificates(name string, data []byte) ([]*x509.Certificate, error) {
	certs, _, err := parseCertificatesDSA(name, data, false)
	return certs, err
}

// DER encodings of the DSA algorithm OIDs (RFC 3279, RFC 5758): id-dsa,
// id-dsa-with-sha1, id-dsa-with-sha256.
var dsaOIDs = [][]byte{
	{0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01},
	{0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03},
	{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02},
}

// IsDSA reports whether a DER certificate mentions a DSA key or signature
// algorithm. It reads no structure, so that it also answers for a
// certificate crypto/x509 refuses to parse (inherited DSA parameters);
// use it only to explain a failure, never to accept anything.
func IsDSA(der []byte) bool {
	for _, oid := range dsaOIDs {
		if bytes.Contains(der, oid) {
			return true
		}
	}
	return false
}

func parseCertificatesDSA(name string, data []byte, skipDSA bool) ([]*x509.Certificate, []error, error) {
	var skipped []error
	parseOne := func(der []byte, where string) (*x509.Certificate, error) {
		c, err := x509.ParseCertificate(der)
		if err != nil && IsDSA(der) {
			err = fmt.Errorf("parse %s%s: %w: %v", name, where, ErrDSA, err)
			if skipDSA {
				skipped = append(skipped, err)
				return nil, nil
			}
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s%s: %w", name, where, err)
		}
		return c, nil
	}
	certs, err := parseBlocks(name, data, parseOne)
	if errors.Is(err, ErrNoCertificates) && len(skipped) > 0 {
		// Every certificate was a skipped DSA one: skipped says so.
		err = nil
	}
	return certs, skipped, err
}

func parseBlocks(name string, data []byte, parseOne func(der []byte, where string) (*x509.Certificate, error)) ([]*x509.Certificate, error) {
	blocks, err := decodeBlocks(name, data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 1 && blocks[0].Type == "" {
		certs, err := x509.ParseCertificates(blocks[0].Bytes)
		if err != nil {
			if looksLikeText(blocks[0].Bytes) {
				return nil, fmt.Errorf("parse %s: neither PEM (no -----BEGIN line) nor DER: %w", name, err)
			}
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("load %s: %w", name, ErrNoCertificates)
		}
		return certs, nil
	}
	var certs []*x509.Certificate
	var others []string
	for i, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			c, err := parseOne(b.Bytes, fmt.Sprintf(": block %d", i+1))
			if err != nil {
				return nil, err
			}
			if c != nil {
				certs = append(certs, c)
			}
		case "TRUSTED CERTIFICATE":
			// OpenSSL's format appends trust settings (which may restrict
			// or reject purposes); dropping them silently could trust a CA
			// the file says not to.
			return nil, fmt.Errorf("parse %s: block %d: TRUSTED CERTIFICATE (OpenSSL trust settings) is not supported; convert it with `openssl x509 -in %s -out ca.pem` after checking its trust settings", name, i+1, name)
		default:
			others = append(others, b.Type)
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("load %s: %w (PEM blocks: %s)", name, ErrNoCertificates, strings.Join(others, ", "))
	}
	return certs, nil
}

// looksLikeText reports whether data is probably a text file, for a better
// hint than "x509: malformed certificate" on a mistyped path.
func looksLikeText(data []byte) bool {
	if len(data) > 512 {
		data = data[:512]
	}
	for _, c := range data {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}

// LoadKeyPair loads a server certificate file (PEM or DER; the leaf first,
// then its chain) and its private key file (PEM PKCS#8, PKCS#1 or SEC 1, or
// the same in DER). Both may be the same file. The key must match the
// leaf; when it matches another certificate of the file instead, the error
// says so, since a wrongly ordered chain is the usual cause.
func LoadKeyPair(certPath, keyPath string) (tls.Certificate, error) {
	return loadKeyPair(certPath, keyPath, nil)
}

func loadKeyPair(certPath, keyPath string, password []byte) (tls.Certificate, error) {
	if fi, err := os.Stat(certPath); err == nil && fi.IsDir() {
		return tls.Certificate{}, fmt.Errorf("load certificate %s: is a directory; want the server certificate file", certPath)
	}
	data, err := readFile(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, err := parseCertificates(certPath, data)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyData, err := readFile(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := parsePrivateKey(keyPath, keyData, password)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !keyMatches(certs[0], key) {
		for i, c := range certs[1:] {
			if keyMatches(c, key) {
				return tls.Certificate{}, fmt.Errorf("load key pair %s, %s: %w %q: the key belongs to certificate %d of the file (%q); put the server certificate first",
					certPath, keyPath, ErrKeyMismatch, certs[0].Subject.String(), i+2, c.Subject.String())
			}
		}
		return tls.Certificate{}, fmt.Errorf("load key pair %s, %s: %w %q (the key is for another certificate)",
			certPath, keyPath, ErrKeyMismatch, certs[0].Subject.String())
	}
	out := tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

func keyMatches(c *x509.Certificate, key crypto.Signer) bool {
	pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

// LoadPrivateKey reads exactly one unencrypted private key (RSA, ECDSA or
// Ed25519) from a PEM or DER file. Blocks of other types (certificates, EC
// PARAMETERS) are skipped.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parsePrivateKey(path, data, nil)
}

// parsePrivateKey reads the one key of a file; password (nil: none given)
// opens an encrypted PEM key.
func parsePrivateKey(name string, data []byte, password []byte) (crypto.Signer, error) {
	blocks, err := decodeBlocks(name, data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 1 && blocks[0].Type == "" {
		k, err := parseKeyDER(blocks[0].Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse key %s: %w: no -----BEGIN line, and the DER is %v", name, ErrNoKey, err)
		}
		return signer(name, 0, k)
	}
	var key crypto.Signer
	var found []int
	for i, b := range blocks {
		n := i + 1
		der := b.Bytes
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			if password == nil {
				return nil, fmt.Errorf("parse key %s: block %d: %w; give its password in a file (certificate.password_file), or decrypt it (openssl pkey -in %s -out plain.key) and protect the file with mode 0600", name, n, ErrEncryptedKey, name)
			}
			if der, err = decryptKeyBlock(b, password); err != nil {
				return nil, fmt.Errorf("decrypt key %s: block %d: %w", name, n, err)
			}
		} else if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		k, err := parseKeyDER(der)
		if err != nil {
			return nil, fmt.Errorf("parse key %s: block %d (%s): %w", name, n, b.Type, err)
		}
		s, err := signer(name, n, k)
		if err != nil {
			return nil, err
		}
		key = s
		found = append(found, n)
	}
	switch len(found) {
	case 0:
		types := make([]string, len(blocks))
		for i, b := range blocks {
			types[i] = b.Type
		}
		return nil, fmt.Errorf("load key %s: %w (PEM blocks: %s)", name, ErrNoKey, strings.Join(types, ", "))
	case 1:
		return key, nil
	}
	return nil, fmt.Errorf("load key %s: holds %d private keys (blocks %v); keep one key per file so it is clear which one is used", name, len(found), found)
}

// parseKeyDER tries the three private key encodings in use. Labels in the
// wild are not always right (PKCS#1 keys in "PRIVATE KEY" blocks), so the
// DER decides, not the PEM type.
func parseKeyDER(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	// The three parsers' ASN.1 complaints say nothing actionable.
	return nil, errNotAKey
}

var errNotAKey = errors.New("not a PKCS#8, PKCS#1 or SEC 1 private key")

// signer keeps the key types a TLS server can sign with.
func signer(name string, block int, k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	where := name
	if block > 0 {
		where = fmt.Sprintf("%s: block %d", name, block)
	}
	return nil, fmt.Errorf("parse key %s: %w %T; use an RSA, ECDSA or Ed25519 key", where, ErrUnsupportedKey, k)
}

// Leaf returns the parsed leaf of a tls.Certificate, parsing it when Leaf is
// not set; nil when there is none or it cannot be parsed.
func Leaf(c *tls.Certificate) *x509.Certificate {
	if c == nil {
		return nil
	}
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
