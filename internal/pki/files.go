package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// File modes: certificates are public, keys and PKCS#12 bundles are not.
const (
	certFileMode os.FileMode = 0o644
	keyFileMode  os.FileMode = 0o600
)

// writeFile replaces path atomically with data and the exact mode (the
// umask does not apply and an existing file's looser mode is not kept: a
// key rewritten over a 0644 file must still end up 0600).
func writeFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	// CreateTemp already uses 0600, so key material is never readable by
	// others even while the temporary file exists.
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// EncodeCertsPEM returns the certificates as concatenated PEM blocks.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// EncodeKeyPEM returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteCertsPEM writes the certificates, in order, as PEM (mode 0644).
func WriteCertsPEM(path string, certs ...*x509.Certificate) error {
	if len(certs) == 0 {
		return fmt.Errorf("write %s: no certificates", path)
	}
	return writeFile(path, EncodeCertsPEM(certs...), certFileMode)
}

// WriteKeyPEM writes key as unencrypted PKCS#8 PEM, always with mode 0600.
func WriteKeyPEM(path string, key crypto.Signer) error {
	data, err := EncodeKeyPEM(key)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFile(path, data, keyFileMode)
}

// WriteCRL writes a DER CRL; a path ending in .pem gets an "X509 CRL" PEM
// block instead (mode 0644).
func WriteCRL(path string, der []byte) error {
	data := der
	if filepath.Ext(path) == ".pem" {
		data = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	return writeFile(path, data, certFileMode)
}

// EncodePKCS12 encodes the leaf, its key and its intermediates (plus the
// root when includeRoot) with go-pkcs12's Modern encoder (AES-256-CBC,
// PBKDF2), which current Windows, macOS and browsers import.
func EncodePKCS12(l *Leaf, password string, includeRoot bool) ([]byte, error) {
	chain := l.Chain()
	cas := chain[1:]
	if includeRoot && l.Issuer != nil {
		if root := l.Issuer.Root(); IsSelfSigned(root.Cert) {
			cas = append(cas, root.Cert)
		}
	}
	pfx, err := pkcs12.Modern.Encode(l.Key, l.Cert, cas, password)
	if err != nil {
		return nil, fmt.Errorf("encode pkcs12: %w", err)
	}
	return pfx, nil
}

// WritePKCS12 writes a PKCS#12 bundle (see EncodePKCS12) with mode 0600.
func WritePKCS12(path string, l *Leaf, password string, includeRoot bool) error {
	pfx, err := EncodePKCS12(l, password, includeRoot)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFile(path, pfx, keyFileMode)
}

// ParseCertsPEM parses every CERTIFICATE block in data. Other block types
// are skipped; no certificate at all is an error.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for i := 0; ; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate block %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrNoPEM)
	}
	return out, nil
}

// ReadCertsPEM reads and parses a PEM certificate file.
func ReadCertsPEM(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificates: %w", err)
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("read certificates %s: %w", path, err)
	}
	return certs, nil
}

// ParseKeyPEM parses the first private key block in data: PKCS#8, SEC 1
// ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%w: no private key block", ErrNoPEM)
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("parse %s: key type %T cannot sign", b.Type, k)
		}
		return s, nil
	}
}

// ReadKeyPEM reads and parses a PEM private key file.
func ReadKeyPEM(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return k, nil
}

// LoadCA reads a CA certificate and its key. certPath may be a bundle: the
// first certificate is the CA, the following ones its issuers in order,
// which become key-less Parent CAs so that Chain() is complete.
func LoadCA(certPath, keyPath string) (*CA, error) {
	certs, err := ReadCertsPEM(certPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	key, err := ReadKeyPEM(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	return newLoadedCA(certs, key, certPath, keyPath)
}

func newLoadedCA(certs []*x509.Certificate, key crypto.Signer, certPath, keyPath string) (*CA, error) {
	c := certs[0]
	if !c.IsCA {
		return nil, fmt.Errorf("load ca %s: %w (CN=%q has basicConstraints CA:FALSE or none)", certPath, ErrNotCA, c.Subject.CommonName)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(c.PublicKey) {
		return nil, fmt.Errorf("load ca: %w: key %s does not belong to %s", ErrKeyMismatch, keyPath, certPath)
	}
	ca := &CA{Cert: c, Key: key}
	tail := ca
	for _, p := range certs[1:] {
		tail.Parent = &CA{Cert: p}
		tail = tail.Parent
	}
	return ca, nil
}
